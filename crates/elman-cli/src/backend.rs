//! The one place that knows backend names and maps them to Burn devices, for the `elman`
//! command and for the benchmarks alike.

use std::fmt;

use anyhow::{Result, bail};
use burn::prelude::Device;
use serde::{Deserialize, Serialize};

/// A backend the user can ask for by name, in a config (`backend = "flex"`) or a flag
/// (`--backend flex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Burn's ndarray CPU backend (deprecated in Burn 0.22, kept for the tutorial's command).
    Ndarray,
    /// Burn's flex CPU backend, the one Burn recommends, where elman's kernels run.
    Flex,
    /// wgpu: Vulkan, Metal or DX12 GPUs, or Mesa's software Vulkan driver.
    Wgpu,
    /// NVIDIA GPUs through CUDA (build with `--features cuda`).
    Cuda,
}

impl Backend {
    /// Every backend, in the order the help lists them.
    pub const ALL: [Backend; 4] = [
        Backend::Ndarray,
        Backend::Flex,
        Backend::Wgpu,
        Backend::Cuda,
    ];

    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Ndarray => "ndarray",
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
            Backend::Cuda => "cuda",
        }
    }

    /// The backend called `name`, or an error that lists the names there are.
    pub fn from_name(name: &str) -> Result<Self> {
        match Backend::ALL.into_iter().find(|b| b.name() == name) {
            Some(backend) => Ok(backend),
            None => bail!(
                "unknown backend `{name}` (expected one of: {})",
                Backend::ALL.map(Backend::name).join(", ")
            ),
        }
    }

    /// The device for this backend, or an error that says how to get it.
    pub fn device(self) -> Result<Device> {
        match self {
            #[cfg(feature = "ndarray")]
            Backend::Ndarray => {
                // The user asked for `--backend ndarray` by name; Burn 0.22 deprecates it in
                // favour of flex, which `--backend flex` offers beside it.
                #[allow(deprecated)]
                let device = Device::ndarray();
                Ok(device)
            }
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => wgpu_device(),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)] // every backend may be compiled in
            other => bail!(
                "backend `{0}` was not compiled in: rebuild with `--features {0}` (e.g. `cargo run -p elman-cli --features {0} -- --backend {0}`)",
                other.name()
            ),
        }
    }
}

/// A CPU device, for work beside a run whatever its backend (the live page's drawings): Flex
/// where it is compiled in, else ndarray.
pub fn cpu() -> Result<Device> {
    Backend::Flex
        .device()
        .or_else(|_| Backend::Ndarray.device())
}

/// The default wgpu adapter, after checking that there is one: without a GPU or a software
/// driver, wgpu would otherwise panic deep inside its first operation.
#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device> {
    use burn::prelude::DeviceKind;
    use burn::tensor::DeviceType;

    if Device::enumerate(DeviceType::Wgpu).is_empty() {
        bail!(
            "backend `wgpu` found no GPU adapter: install a Vulkan driver (with no GPU, Mesa's software one: `apt-get install mesa-vulkan-drivers libvulkan1`) or use `--backend flex`"
        );
    }
    Ok(Device::wgpu(DeviceKind::DefaultDevice))
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_listed() {
        for backend in Backend::ALL {
            assert_eq!(Backend::from_name(backend.name()).unwrap(), backend);
            let value = clap::ValueEnum::to_possible_value(&backend).unwrap();
            assert_eq!(value.get_name(), backend.name(), "clap and serde agree");
        }
        let err = Backend::from_name("tpu").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown backend `tpu` (expected one of: ndarray, flex, wgpu, cuda)"
        );
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_backend_not_compiled_in_names_its_feature() {
        let err = Backend::Cuda.device().unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
