//! batches (being written).
