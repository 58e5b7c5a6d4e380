//! Reading one value out of a `/metrics` scrape (OpenMetrics text): a series that is
//! there at 0 from the start says nothing until its value is read.

/// The value of `series` (name with labels, exactly as exposed, e.g.
/// `posagent_acquirer_events_total{outcome="refused"}`), if the scrape has it.
pub fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[test]
fn a_series_value_is_read_exactly_by_its_name_and_labels() {
    let scrape = "# TYPE x counter\nx_total{a=\"1\"} 0\nx_total{a=\"12\"} 3\nx_total 7 1700000000\n";
    assert_eq!(value(scrape, "x_total{a=\"1\"}"), Some(0.0));
    assert_eq!(value(scrape, "x_total{a=\"12\"}"), Some(3.0));
    assert_eq!(value(scrape, "x_total"), Some(7.0));
    assert_eq!(value(scrape, "x_total{a=\"2\"}"), None);
}
