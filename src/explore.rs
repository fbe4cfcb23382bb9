//! (being written — placeholder so the crate builds)
use crate::model::Model;
use std::net::SocketAddr;
#[derive(Debug)]
pub struct ExploreError(pub String);
impl std::fmt::Display for ExploreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
pub fn serve(_model: Model, _addr: SocketAddr) -> Result<std::convert::Infallible, ExploreError> {
    Err(ExploreError("not yet".into()))
}
