//! The demo's simulator.
