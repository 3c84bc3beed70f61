//! psql's presentation layer (stub: being written).
