//! The one place that knows backend names and maps them to Burn devices.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};
use burn::prelude::Device;

/// A backend the user can ask for by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Burn's ndarray CPU backend (deprecated in Burn 0.22, kept for the tutorial's command).
    Ndarray,
    /// Burn's flex CPU backend, the one Burn recommends.
    Flex,
    /// wgpu: Vulkan, Metal or DX12 GPUs, or Mesa's software Vulkan driver.
    Wgpu,
    /// NVIDIA GPUs through CUDA.
    Cuda,
}

impl Backend {
    /// Every backend name, in the order the help lists them.
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

impl FromStr for Backend {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        match Backend::ALL.into_iter().find(|b| b.name() == name) {
            Some(backend) => Ok(backend),
            None => bail!(
                "unknown backend `{name}` (expected one of: {})",
                Backend::ALL.map(Backend::name).join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_listed() {
        for backend in Backend::ALL {
            assert_eq!(backend.name().parse::<Backend>().unwrap(), backend);
        }
        let err = "tpu".parse::<Backend>().unwrap_err().to_string();
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
