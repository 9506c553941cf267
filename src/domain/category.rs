//! What a dispute is about, and how urgent it is.

use serde::{Deserialize, Serialize};

/// The kind of dispute a resident reports. Mediators list the kinds they specialise in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 邻里纠纷: noise, leaks, shared spaces.
    Neighbor,
    /// 婚姻家庭: family and marriage.
    Family,
    /// 物业纠纷: property management and fees.
    Property,
    /// 劳资纠纷: unpaid wages, labour.
    Wages,
    /// 土地/房屋: land, housing, demolition.
    Land,
    /// 交通事故: minor traffic accidents.
    Traffic,
    /// 消费纠纷: shops and services.
    Consumer,
    /// 其他.
    Other,
}

impl Category {
    /// Every category, in the order pages show them.
    pub const ALL: [Self; 8] = [
        Self::Neighbor,
        Self::Family,
        Self::Property,
        Self::Wages,
        Self::Land,
        Self::Traffic,
        Self::Consumer,
        Self::Other,
    ];

    /// The plain-Chinese label residents see.
    #[must_use]
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Neighbor => "邻里纠纷",
            Self::Family => "婚姻家庭",
            Self::Property => "物业纠纷",
            Self::Wages => "拖欠工资",
            Self::Land => "土地房屋",
            Self::Traffic => "交通事故",
            Self::Consumer => "消费纠纷",
            Self::Other => "其他",
        }
    }
}

/// Risk colour: red is urgent (violence, crowds), yellow serious, blue routine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// 蓝色: routine.
    #[default]
    Blue,
    /// 黄色: serious.
    Yellow,
    /// 红色: urgent, alerted to the command center at once.
    Red,
}
