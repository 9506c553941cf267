//! The pure types of joint handling live in [`crate::domain::department`] (the bus carries
//! call-ins and the push edge renders them, and neither may depend on this service); this
//! module names them where the service's code and its callers always found them.

pub use crate::domain::department::*;
