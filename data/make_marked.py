"""Writes data/marked.csv, the series of configs/memory.toml: at every row a random `value` in
[-1, 1] and a `flag`; every 40 rows the flag is 1 and `held` becomes that row's value, which it
keeps until the next flag. Deterministic (seed 7):  python3 data/make_marked.py"""
import os
import random

random.seed(7)
ROWS, EVERY = 12000, 40
held = 0.0
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "marked.csv")
with open(path, "w") as f:
    f.write("step,value,flag,held\n")
    for t in range(ROWS):
        value = round(random.uniform(-1, 1), 4)
        flag = 1 if t % EVERY == 0 else 0
        if flag:
            held = value
        f.write(f"{t},{value},{flag},{held}\n")
