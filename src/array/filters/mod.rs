//! Filters (placeholder until the filter layer lands).
use crate::error::{Error, Result};
use crate::format::datatype::Datatype;
use crate::format::filter_pipeline::FilterInfo;

/// Decodes one stored chunk through the pipeline, in reverse order.
pub fn decode_chunk(
    pipeline: &[FilterInfo],
    _filter_mask: u32,
    data: &[u8],
    _chunk_bytes: usize,
    _element_size: usize,
    _dtype: &Datatype,
) -> Result<Vec<u8>> {
    if let Some(f) = pipeline.first() {
        return Err(Error::unsupported(format!("filter {}", f.id)));
    }
    Ok(data.to_vec())
}
