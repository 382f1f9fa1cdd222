//! Project automation behind `cargo xtask <task>`: the image (build, push),
//! Helm on the chart in `helm/`, provisioning a machine for the tests,
//! running them, and the whole system on this machine (`up`, `down`). Each module shells out to the real tool (podman, buildah,
//! docker, skopeo, helm, pip, cargo) and does itself only what no tool does
//! here: staging the build context, the OCI archive when there is no
//! container tool, and the registry push without one. Not part of the
//! product; `src/main.rs` is the command line over these modules.

pub mod helm;
pub mod image;
pub mod provision;
pub mod test;
pub mod up;
pub mod workspace;
