//! The spellings of the domain's enums inside stored records (status, category, colour,
//! outcome, level, role, deadline, actor), schema 1. Each stored enum names its spelling per
//! variant, so renaming a domain variant (or its API spelling) changes only the conversion
//! here, never a stored byte.

use crate::domain::account::Role;
use crate::domain::area::AreaLevel;
use crate::domain::category::{Category, Risk};
use crate::domain::grade::Grade;
use crate::domain::incident::{Deadline, Outcome, Status};
use crate::domain::timeline::ActorRole;
use serde::{Deserialize, Serialize};

/// A stored enum `$stored` for the domain's `$domain`: one variant per domain variant, each
/// with its stored spelling, and the conversions both ways (exhaustive, so a new domain
/// variant must be given a spelling here).
macro_rules! stored_enum {
    ($(#[$doc:meta])* $stored:ident for $domain:ident { $($variant:ident = $spelling:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $stored {
            $(
                #[doc = concat!("`", $spelling, "`")]
                #[serde(rename = $spelling)]
                $variant,
            )+
        }

        impl From<$domain> for $stored {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => Self::$variant,)+
                }
            }
        }

        impl From<$stored> for $domain {
            fn from(value: $stored) -> Self {
                match value {
                    $($stored::$variant => Self::$variant,)+
                }
            }
        }
    };
}

stored_enum! {
    /// An incident's state as stored, schema 1.
    StoredStatusV1 for Status {
        Dispatching = "dispatching",
        Escalated = "escalated",
        Claimed = "claimed",
        OnSite = "on_site",
        Resolved = "resolved",
        Cancelled = "cancelled",
    }
}

stored_enum! {
    /// A dispute's kind as stored, schema 1.
    StoredCategoryV1 for Category {
        Neighbor = "neighbor",
        Family = "family",
        Property = "property",
        Wages = "wages",
        Land = "land",
        Traffic = "traffic",
        Consumer = "consumer",
        Other = "other",
    }
}

stored_enum! {
    /// A risk colour as stored, schema 1.
    StoredRiskV1 for Risk {
        Blue = "blue",
        Yellow = "yellow",
        Red = "red",
    }
}

stored_enum! {
    /// How an incident was closed, as stored, schema 1.
    StoredOutcomeV1 for Outcome {
        Mediated = "mediated",
        NotMediated = "not_mediated",
        Referred = "referred",
    }
}

stored_enum! {
    /// A level of the area ladder as stored, schema 1.
    StoredAreaLevelV1 for AreaLevel {
        District = "district",
        Street = "street",
        Community = "community",
        Grid = "grid",
    }
}

stored_enum! {
    /// An account's role as stored, schema 1.
    StoredRoleV1 for Role {
        Mediator = "mediator",
        Operator = "operator",
        Admin = "admin",
        Department = "department",
    }
}

stored_enum! {
    /// A claim's deadline as stored, schema 1.
    StoredDeadlineV1 for Deadline {
        Arrive = "arrive",
        Resolve = "resolve",
    }
}

stored_enum! {
    /// Who acted on an incident, as stored in its timeline, schema 1.
    StoredActorRoleV1 for ActorRole {
        Resident = "resident",
        Mediator = "mediator",
        Operator = "operator",
        Admin = "admin",
        Department = "department",
        System = "system",
    }
}

stored_enum! {
    /// A case's difficulty grade (以案定补) as stored, schema 1.
    StoredGradeV1 for Grade {
        Simple = "simple",
        General = "general",
        MajorDifficult = "major_difficult",
    }
}
