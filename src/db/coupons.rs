//! coupons (being written).
