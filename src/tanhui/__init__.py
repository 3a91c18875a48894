"""tanhui 碳惠 — an open carbon-inclusion platform."""
