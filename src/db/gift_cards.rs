//! gift_cards (being written).
