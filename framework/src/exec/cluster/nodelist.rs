//! Slurm's compressed host lists: `node[01-03,07],login` names `node01`,
//! `node02`, `node03`, `node07` and `login`.
//!
//! The grammar (what `scontrol show hostnames` accepts): hosts separated by
//! commas outside brackets; a host may hold several bracket groups, each a
//! comma list of numbers or `lo-hi` ranges (zero padding is kept: `[08-10]`
//! gives `08 09 10`), and expands to every combination, left to right.

/// Expands a compressed host list into host names, in Slurm's order.
///
/// # Errors
/// Unbalanced brackets, an empty group, a range that is not `lo-hi` with
/// `lo <= hi`, or more than a million hosts.
pub(crate) fn expand(list: &str) -> Result<Vec<String>, String> {
    let mut hosts = Vec::new();
    for host in split_top(list)? {
        if host.is_empty() {
            continue;
        }
        let mut names = vec![String::new()];
        let mut rest = host;
        while !rest.is_empty() {
            match rest.find('[') {
                None => {
                    names.iter_mut().for_each(|n| n.push_str(rest));
                    rest = "";
                }
                Some(open) => {
                    let (text, group) = rest.split_at(open);
                    names.iter_mut().for_each(|n| n.push_str(text));
                    let close = group.find(']').ok_or_else(|| format!("`{list}`: a `[` is not closed"))?;
                    let values = group_values(&group[1..close]).map_err(|e| format!("`{list}`: {e}"))?;
                    if names.len().saturating_mul(values.len()) > 1_000_000 {
                        return Err(format!("`{list}`: more than a million hosts"));
                    }
                    names = names.iter().flat_map(|n| values.iter().map(move |v| format!("{n}{v}"))).collect();
                    rest = &group[close + 1..];
                }
            }
        }
        hosts.extend(names);
    }
    Ok(hosts)
}

/// The first host of a compressed list, without expanding the rest.
///
/// # Errors
/// As [`expand`], for the first host; an empty list.
pub(crate) fn first(list: &str) -> Result<String, String> {
    let first = split_top(list)?.into_iter().find(|h| !h.is_empty());
    let first = first.ok_or_else(|| format!("`{list}`: no host"))?;
    expand(first)?.into_iter().next().ok_or_else(|| format!("`{list}`: no host"))
}

/// Splits at the commas outside brackets.
fn split_top(list: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, b) in list.bytes().enumerate() {
        match b {
            b'[' if depth == 0 => depth = 1,
            b'[' => return Err(format!("`{list}`: brackets inside brackets")),
            b']' if depth == 1 => depth = 0,
            b']' => return Err(format!("`{list}`: a `]` without its `[`")),
            b',' if depth == 0 => {
                parts.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("`{list}`: a `[` is not closed"));
    }
    parts.push(list[start..].trim());
    Ok(parts)
}

/// The values of one bracket group: `01-03,07` gives `01 02 03 07`.
fn group_values(group: &str) -> Result<Vec<String>, String> {
    let mut values = Vec::new();
    for item in group.split(',') {
        let item = item.trim();
        let (lo, hi) = item.split_once('-').unwrap_or((item, item));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(lo) || !digits(hi) {
            return Err(format!("`[{group}]`: `{item}` is not a number or a range"));
        }
        let (a, b): (u64, u64) = (lo.parse().map_err(|_| "too large")?, hi.parse().map_err(|_| "too large")?);
        if a > b || b - a >= 1_000_000 {
            return Err(format!("`[{group}]`: `{item}` is not a range from low to high"));
        }
        let width = lo.len();
        values.extend((a..=b).map(|n| format!("{n:0width$}")));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_like_scontrol_show_hostnames() {
        assert_eq!(expand("node[01-03,07]").unwrap(), ["node01", "node02", "node03", "node07"]);
        assert_eq!(expand("vm").unwrap(), ["vm"]);
        assert_eq!(expand("a,b[1-2],c").unwrap(), ["a", "b1", "b2", "c"]);
        assert_eq!(expand("n[8-10]").unwrap(), ["n8", "n9", "n10"]);
        assert_eq!(expand("n[08-10]").unwrap(), ["n08", "n09", "n10"]);
        assert_eq!(expand("rack[1-2]-n[1,3]").unwrap(), ["rack1-n1", "rack1-n3", "rack2-n1", "rack2-n3"]);
        assert_eq!(expand("gpu[1-2]-ib").unwrap(), ["gpu1-ib", "gpu2-ib"]);
        assert_eq!(first("node[07-09],login").unwrap(), "node07");
        assert_eq!(first("login,node[1-2]").unwrap(), "login");
    }

    #[test]
    fn refuses_broken_lists() {
        for bad in ["node[01-03", "node01]", "n[3-1]", "n[a-b]", "n[]", "n[[1]]", "n[1-]", ""] {
            let got = if bad.is_empty() { first(bad).map(|h| vec![h]) } else { expand(bad) };
            assert!(got.is_err(), "{bad}: {got:?}");
        }
    }
}
