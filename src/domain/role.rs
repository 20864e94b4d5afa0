/// A user's role in one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: &'static [Role] = &[Role::Owner, Role::Admin, Role::Viewer];

    pub fn code(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Viewer => "Viewer",
        }
    }

    pub fn parse(code: &str) -> Result<Self, &'static str> {
        match code {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            _ => Err("Choose owner, admin or viewer."),
        }
    }

    /// Owners and admins change objects; viewers only look.
    pub fn can_edit(self) -> bool {
        self >= Role::Admin
    }

    pub fn is_owner(self) -> bool {
        self == Role::Owner
    }
}
