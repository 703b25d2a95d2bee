//! Who may do what: the five creditdesk groups and the actions each one
//! allows (`shared/spec/security.md` §2).
//!
//! PostgreSQL enforces the same table itself (grants, and checks inside the
//! `creditdesk` functions); this copy lets the console offer only what the
//! operator's role may do and word a refusal before a round trip.

use std::fmt;

use super::error::Refusal;

/// A NOLOGIN group role an operator's login is a member of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Auditor,
    Support,
    Finance,
    Oncall,
    Admin,
}

impl Group {
    pub const ALL: [Group; 5] = [
        Group::Auditor,
        Group::Support,
        Group::Finance,
        Group::Oncall,
        Group::Admin,
    ];

    /// The role's name in PostgreSQL.
    pub fn role_name(self) -> &'static str {
        match self {
            Group::Auditor => "creditdesk_auditor",
            Group::Support => "creditdesk_support",
            Group::Finance => "creditdesk_finance",
            Group::Oncall => "creditdesk_oncall",
            Group::Admin => "creditdesk_admin",
        }
    }

    /// The name people use: `support`.
    pub fn label(self) -> &'static str {
        match self {
            Group::Auditor => "auditor",
            Group::Support => "support",
            Group::Finance => "finance",
            Group::Oncall => "oncall",
            Group::Admin => "admin",
        }
    }

    /// `support` or `creditdesk_support`, any case.
    pub fn parse(s: &str) -> Option<Group> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("creditdesk_").unwrap_or(&s);
        Group::ALL.into_iter().find(|g| g.label() == s)
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Something an operator does; [`Action::Read`] covers every read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Users, ledger, coupons, cards (codes masked), batches, the audit log,
    /// `credits verify`, `audit verify`.
    Read,
    CouponCreate,
    CouponDeactivate,
    CouponRedeem,
    GiftCardRedeem,
    GiftCardReveal,
    GiftCardIssue,
    GiftCardRevoke,
    /// Up to the approval threshold; above it the change waits for a second
    /// person.
    CreditsAdjust,
    BatchFail,
    /// Approve or reject someone else's pending request.
    ApprovalDecide,
    OperatorsManage,
    SettingsChange,
}

impl Action {
    pub const ALL: [Action; 13] = [
        Action::Read,
        Action::CouponCreate,
        Action::CouponDeactivate,
        Action::CouponRedeem,
        Action::GiftCardRedeem,
        Action::GiftCardReveal,
        Action::GiftCardIssue,
        Action::GiftCardRevoke,
        Action::CreditsAdjust,
        Action::BatchFail,
        Action::ApprovalDecide,
        Action::OperatorsManage,
        Action::SettingsChange,
    ];

    /// What the action is, after "may not": `issue gift cards`.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::CouponCreate => "create coupons",
            Action::CouponDeactivate => "deactivate coupons",
            Action::CouponRedeem => "redeem coupons for a user",
            Action::GiftCardRedeem => "redeem gift cards for a user",
            Action::GiftCardReveal => "reveal gift card codes",
            Action::GiftCardIssue => "issue gift cards",
            Action::GiftCardRevoke => "revoke gift cards",
            Action::CreditsAdjust => "adjust balances",
            Action::BatchFail => "fail and refund batches",
            Action::ApprovalDecide => "approve or reject requests",
            Action::OperatorsManage => "manage operators",
            Action::SettingsChange => "change settings",
        }
    }

    /// The action's name in the database (`creditdesk.require`) and the
    /// audit log's vocabulary: `gift_card.issue`.
    pub fn code(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::CouponCreate => "coupon.create",
            Action::CouponDeactivate => "coupon.deactivate",
            Action::CouponRedeem => "coupon.redeem",
            Action::GiftCardRedeem => "gift_card.redeem",
            Action::GiftCardReveal => "gift_card.reveal",
            Action::GiftCardIssue => "gift_card.issue",
            Action::GiftCardRevoke => "gift_card.revoke",
            Action::CreditsAdjust => "credits.adjust",
            Action::BatchFail => "batch.fail",
            Action::ApprovalDecide => "approval.decide",
            Action::OperatorsManage => "operators.manage",
            Action::SettingsChange => "settings.change",
        }
    }

    /// Whether the action changes anything (a reveal writes its audit row).
    pub fn writes(self) -> bool {
        self != Action::Read
    }

    /// The permission table of the spec, one row per action.
    pub fn allowed_for(self, group: Group) -> bool {
        use Group::*;
        match self {
            Action::Read => true,
            Action::CouponCreate
            | Action::CouponDeactivate
            | Action::CouponRedeem
            | Action::GiftCardRedeem
            | Action::GiftCardReveal
            | Action::CreditsAdjust => matches!(group, Support | Finance | Admin),
            Action::GiftCardIssue | Action::GiftCardRevoke | Action::ApprovalDecide => {
                matches!(group, Finance | Admin)
            }
            Action::BatchFail => matches!(group, Oncall | Admin),
            Action::OperatorsManage | Action::SettingsChange => group == Admin,
        }
    }
}

/// What the connected login may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    /// The creditdesk groups the login belongs to, directly or not.
    groups: Vec<Group>,
    /// The login owns the schema (or is a superuser): it can do everything
    /// anyway, so the tool lets it, as a shared login.
    owner: bool,
}

impl Permissions {
    pub fn new(mut groups: Vec<Group>, owner: bool) -> Self {
        groups.sort();
        groups.dedup();
        Self { groups, owner }
    }

    /// The schema owner's (or a superuser's) permissions: everything.
    pub fn owner() -> Self {
        Self::new(Vec::new(), true)
    }

    pub fn of(groups: &[Group]) -> Self {
        Self::new(groups.to_vec(), false)
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn is_owner(&self) -> bool {
        self.owner
    }

    /// A login in at least one creditdesk group is a person's own.
    pub fn is_personal(&self) -> bool {
        !self.groups.is_empty()
    }

    pub fn allows(&self, action: Action) -> bool {
        self.owner || self.groups.iter().any(|g| action.allowed_for(*g))
    }

    /// `support`, `finance+oncall`, `owner`, or `none`.
    pub fn label(&self) -> String {
        if !self.groups.is_empty() {
            return self
                .groups
                .iter()
                .map(|g| g.label())
                .collect::<Vec<_>>()
                .join("+");
        }
        if self.owner { "owner" } else { "none" }.to_owned()
    }

    /// `Ok` when allowed, else the refusal that names the role.
    pub fn check(&self, action: Action) -> Result<(), Refusal> {
        if self.allows(action) {
            Ok(())
        } else {
            Err(Refusal::NotPermitted {
                role: self.label(),
                action: action.describe(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_table_of_the_spec() {
        use Action::*;
        use Group::*;
        // Rows: action; columns: auditor, support, finance, oncall, admin.
        let table: [(Action, [bool; 5]); 13] = [
            (Read, [true, true, true, true, true]),
            (CouponCreate, [false, true, true, false, true]),
            (CouponDeactivate, [false, true, true, false, true]),
            (CouponRedeem, [false, true, true, false, true]),
            (GiftCardRedeem, [false, true, true, false, true]),
            (GiftCardReveal, [false, true, true, false, true]),
            (GiftCardIssue, [false, false, true, false, true]),
            (GiftCardRevoke, [false, false, true, false, true]),
            (CreditsAdjust, [false, true, true, false, true]),
            (BatchFail, [false, false, false, true, true]),
            (ApprovalDecide, [false, false, true, false, true]),
            (OperatorsManage, [false, false, false, false, true]),
            (SettingsChange, [false, false, false, false, true]),
        ];
        for (action, row) in table {
            for (group, allowed) in [Auditor, Support, Finance, Oncall, Admin]
                .into_iter()
                .zip(row)
            {
                assert_eq!(action.allowed_for(group), allowed, "{action:?} {group:?}");
            }
        }
        assert_eq!(Action::ALL.len(), table.len());
    }

    #[test]
    fn several_groups_add_up_and_the_owner_may_do_everything() {
        let p = Permissions::of(&[Group::Oncall, Group::Support]);
        assert!(p.allows(Action::BatchFail) && p.allows(Action::CouponCreate));
        assert!(!p.allows(Action::GiftCardIssue));
        assert_eq!(p.label(), "support+oncall");
        assert!(p.is_personal());
        let owner = Permissions::owner();
        assert!(Action::ALL.iter().all(|a| owner.allows(*a)));
        assert!(!owner.is_personal());
        assert_eq!(owner.label(), "owner");
        let none = Permissions::of(&[]);
        assert!(!none.allows(Action::Read));
        assert_eq!(none.label(), "none");
    }

    #[test]
    fn refusals_name_the_role() {
        let e = Permissions::of(&[Group::Support])
            .check(Action::GiftCardIssue)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "your role (support) may not issue gift cards"
        );
    }

    #[test]
    fn group_names() {
        assert_eq!(Group::parse("Support"), Some(Group::Support));
        assert_eq!(Group::parse("creditdesk_admin"), Some(Group::Admin));
        assert_eq!(Group::parse("root"), None);
        assert_eq!(Group::Oncall.role_name(), "creditdesk_oncall");
    }
}
