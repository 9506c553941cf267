//! A case's difficulty grade (以案定补: simple / general / major-difficult cases are paid at
//! different rates). The suggestion and the rates live in `casefile::grade` and
//! `casefile::subsidy`; this is only the value, so the incident timeline can name it.

use serde::{Deserialize, Serialize};

/// 简易 / 一般 / 重大疑难.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// 简易: settled at once, two parties, little or no money.
    Simple,
    /// 一般: the ordinary case.
    General,
    /// 重大疑难: many parties, large sums, or a hard category.
    MajorDifficult,
}

impl Grade {
    /// Every grade, easiest first.
    pub const ALL: [Self; 3] = [Self::Simple, Self::General, Self::MajorDifficult];

    /// The grade's name on paper.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Simple => "简易",
            Self::General => "一般",
            Self::MajorDifficult => "重大疑难",
        }
    }

    /// The stable name on the wire and in CSV (`simple`, `general`, `major_difficult`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::General => "general",
            Self::MajorDifficult => "major_difficult",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_order_from_simple_to_major_difficult_and_name_themselves_on_the_wire() {
        assert!(Grade::Simple < Grade::General && Grade::General < Grade::MajorDifficult);
        for g in Grade::ALL {
            assert_eq!(serde_json::to_value(g).unwrap(), serde_json::Value::String(g.as_str().into()));
        }
    }
}
