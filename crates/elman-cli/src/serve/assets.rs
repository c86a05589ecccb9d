//! The page's files, built into the binary so that it works offline: the page, its script and
//! style, and the charting library uPlot (vendored from the npm registry with its license).

/// The file served at `/assets/<name>`, with its content type.
pub fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    Some(match name {
        "app.js" => (JS, include_bytes!("../../assets/serve/app.js")),
        "draw.js" => (JS, include_bytes!("../../assets/serve/draw.js")),
        "style.css" => (CSS, include_bytes!("../../assets/serve/style.css")),
        "uPlot.iife.min.js" => (
            JS,
            include_bytes!("../../assets/vendor/uplot/uPlot.iife.min.js"),
        ),
        "uPlot.min.css" => (
            CSS,
            include_bytes!("../../assets/vendor/uplot/uPlot.min.css"),
        ),
        "uPlot-LICENSE.txt" => (TEXT, include_bytes!("../../assets/vendor/uplot/LICENSE")),
        _ => return None,
    })
}

/// The page.
pub const INDEX: &str = include_str!("../../assets/serve/index.html");

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
