//! Risk triage: the colour an incident starts with is the highest of what the resident chose,
//! the category's floor, and what keywords in the description suggest (threats, weapons,
//! violence, self-harm, crowds). Operators can change it later.

use super::category::{Category, Risk};
use std::collections::HashMap;

/// The configurable triage rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriageRules {
    /// Any of these in the description makes it red.
    pub red_keywords: Vec<String>,
    /// Any of these makes it at least yellow.
    pub yellow_keywords: Vec<String>,
    /// The lowest colour per category.
    pub category_floor: HashMap<Category, Risk>,
}

impl TriageRules {
    /// The colour a new report starts with.
    #[must_use]
    pub fn assess(&self, category: Category, description: &str, chosen: Option<Risk>) -> Risk {
        let text = description.to_lowercase();
        let hit = |words: &[String]| words.iter().any(|w| !w.is_empty() && text.contains(&w.to_lowercase()));
        let by_keywords = if hit(&self.red_keywords) {
            Risk::Red
        } else if hit(&self.yellow_keywords) {
            Risk::Yellow
        } else {
            Risk::Blue
        };
        let floor = self.category_floor.get(&category).copied().unwrap_or_default();
        [chosen.unwrap_or_default(), floor, by_keywords].into_iter().max().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> TriageRules {
        TriageRules {
            red_keywords: vec!["刀".into(), "跳楼".into(), "Knife".into()],
            yellow_keywords: vec!["威胁".into()],
            category_floor: HashMap::from([(Category::Wages, Risk::Yellow)]),
        }
    }

    #[test]
    fn the_highest_of_choice_category_and_keywords_wins() {
        let r = rules();
        assert_eq!(r.assess(Category::Neighbor, "楼上漏水", None), Risk::Blue);
        assert_eq!(r.assess(Category::Neighbor, "楼上漏水", Some(Risk::Yellow)), Risk::Yellow);
        assert_eq!(r.assess(Category::Wages, "老板跑了", None), Risk::Yellow);
        assert_eq!(r.assess(Category::Neighbor, "他说要威胁我", None), Risk::Yellow);
        assert_eq!(r.assess(Category::Family, "拿着刀在楼道里", Some(Risk::Blue)), Risk::Red);
        assert_eq!(r.assess(Category::Family, "has a KNIFE", None), Risk::Red, "case-insensitive");
        assert_eq!(r.assess(Category::Family, "有人要跳楼", None), Risk::Red);
    }
}
