//! Whom a tool acts for.
//!
//! The calling service forwards the authenticated user as the HTTP header
//! `AUTHORITATIVE_USER_ID` (through LlamaStack's `X-LlamaStack-Provider-Data`
//! `mcp_headers`, which LlamaStack 0.2.18 sends with every MCP request of
//! that toolgroup). Its value is an employee id or an email. The model's
//! `employee_id` argument never overrides it.

use http::request::Parts;

use crate::tools::ToolError;

/// The header carrying the authenticated user (HTTP names are case-blind).
pub const USER_ID_HEADER: &str = "authoritative_user_id";

/// Who called, as the HTTP request of the call says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The authenticated user, when the request carries one.
    pub user: Option<String>,
}

impl Caller {
    pub fn from_parts(parts: &Parts) -> Self {
        let user = parts
            .headers
            .get(USER_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned);
        Self { user }
    }

    pub fn authenticated(user: impl Into<String>) -> Self {
        Self {
            user: Some(user.into()),
        }
    }
}

/// The server's rule for arguments naming an employee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdentityPolicy {
    /// Help-desk mode (`MCP_ALLOW_ANY_EMPLOYEE=true`): the argument may name
    /// anyone.
    pub allow_any_employee: bool,
}

/// The employee a call is about, before the backend has looked them up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The id or email to look up.
    pub lookup: String,
    /// Whether the request named its caller (in help-desk mode the lookup
    /// may still come from the arguments).
    pub authoritative: bool,
    /// Whether `lookup` is the caller's own identity (else an argument).
    pub from_caller: bool,
    /// An argument that must name the same employee as `lookup` (the
    /// caller's own id or email), checked once the employee is known.
    claimed: Option<String>,
}

impl IdentityPolicy {
    /// Decides whom a call acts for, from the caller and the (optional)
    /// `employee_id` argument.
    pub fn subject(&self, caller: &Caller, argument: Option<&str>) -> Result<Subject, ToolError> {
        let argument = argument.map(str::trim).filter(|value| !value.is_empty());
        match (&caller.user, argument) {
            (_, Some(argument)) if self.allow_any_employee => {
                tracing::info!(
                    employee_id = argument,
                    caller = caller.user.as_deref().unwrap_or("-"),
                    "help-desk mode: acting for the employee_id argument"
                );
                Ok(Subject {
                    lookup: argument.to_owned(),
                    authoritative: caller.user.is_some(),
                    from_caller: false,
                    claimed: None,
                })
            }
            (Some(user), argument) => Ok(Subject {
                lookup: user.clone(),
                authoritative: true,
                from_caller: true,
                claimed: argument.map(str::to_owned),
            }),
            (None, Some(argument)) => {
                tracing::warn!(
                    employee_id = argument,
                    "identity not authoritative: no AUTHORITATIVE_USER_ID header, acting for the employee_id argument"
                );
                Ok(Subject {
                    lookup: argument.to_owned(),
                    authoritative: false,
                    from_caller: false,
                    claimed: None,
                })
            }
            (None, None) => Err(ToolError::InvalidArgument(
                "employee_id is required: the request carries no authenticated user".into(),
            )),
        }
    }
}

impl Subject {
    /// Refuses an argument naming someone other than the employee found for
    /// the caller (`id` and `email` are that employee's).
    pub fn check_claim(&self, id: &str, email: &str) -> Result<(), ToolError> {
        match &self.claimed {
            Some(claimed)
                if !claimed.eq_ignore_ascii_case(id) && !claimed.eq_ignore_ascii_case(email) =>
            {
                Err(ToolError::Refused(format!(
                    "employee_id '{claimed}' names someone other than the authenticated user \
                     ({id}); this server acts only for the authenticated user"
                )))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELF_SERVICE: IdentityPolicy = IdentityPolicy {
        allow_any_employee: false,
    };
    const HELP_DESK: IdentityPolicy = IdentityPolicy {
        allow_any_employee: true,
    };

    #[test]
    fn the_header_wins_over_the_argument() {
        let subject = SELF_SERVICE
            .subject(&Caller::authenticated("1001"), Some("1002"))
            .unwrap();
        assert_eq!(subject.lookup, "1001");
        assert!(subject.authoritative);
        let refused = subject
            .check_claim("1001", "alice@example.com")
            .unwrap_err();
        assert!(refused.to_string().contains("'1002'"), "{refused}");
    }

    #[test]
    fn an_argument_naming_the_caller_by_email_is_accepted() {
        let subject = SELF_SERVICE
            .subject(&Caller::authenticated("1001"), Some("Alice@Example.com"))
            .unwrap();
        subject.check_claim("1001", "alice@example.com").unwrap();
    }

    #[test]
    fn help_desk_mode_acts_for_the_argument() {
        let subject = HELP_DESK
            .subject(&Caller::authenticated("1001"), Some("1002"))
            .unwrap();
        assert_eq!(subject.lookup, "1002");
        subject.check_claim("1002", "bob@example.com").unwrap();
    }

    #[test]
    fn without_a_header_the_argument_is_used_but_not_authoritative() {
        let subject = SELF_SERVICE
            .subject(&Caller::default(), Some(" 1002 "))
            .unwrap();
        assert_eq!(subject.lookup, "1002");
        assert!(!subject.authoritative);
    }

    #[test]
    fn without_header_or_argument_the_call_is_an_error() {
        let error = SELF_SERVICE
            .subject(&Caller::default(), Some(""))
            .unwrap_err();
        assert!(
            error.to_string().contains("employee_id is required"),
            "{error}"
        );
    }

    #[test]
    fn the_header_is_read_case_blind_and_trimmed() {
        let request = http::Request::builder()
            .header("AUTHORITATIVE_USER_ID", " alice@example.com ")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        assert_eq!(
            Caller::from_parts(&parts).user.as_deref(),
            Some("alice@example.com")
        );
    }
}
