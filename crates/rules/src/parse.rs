//! Rule text → [`Rule`].

use std::path::Path;

use crate::load::LoadReport;
use crate::rule::Rule;
use crate::vars::Vars;

#[derive(Debug, Default)]
pub(crate) struct Detection {
    pub noalert: bool,
}

pub(crate) fn parse_file(
    _text: &str,
    _file: &str,
    _dir: Option<&Path>,
    _vars: &Vars,
    _out: &mut Vec<Rule>,
    _report: &mut LoadReport,
) {
}

pub(crate) fn sort_rules(_rules: &mut [Rule]) {}
