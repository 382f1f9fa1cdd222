//! Subject and body from an `integration_templates` row (Jinja2 syntax, as
//! the Python system wrote them), or the built-in default of the channel
//! type. Rendering is strict: an undefined variable is an error, and a
//! broken template fails its deliveries permanently, naming the template.

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::json;
use shared_db::entities::integration_templates;

use crate::{DeliveryError, IntegrationType, Message};

/// The name recorded (`delivery_logs.template_used`) when no row applied.
pub const DEFAULT_TEMPLATE: &str = "default";

/// Bounds the work of one rendering (a loop cannot run forever).
const FUEL: u64 = 100_000;

/// Subject of every type's default; also `subject` in a row's templates.
const DEFAULT_SUBJECT: &str = "Your IT request has been answered";

const DEFAULT_EMAIL_BODY: &str = "\
{{ content }}

--
{% if agent_id %}Answered by {{ agent_id }}. {% endif %}Request {{ request_id }}, session {{ session_id }}.
";

const DEFAULT_BODY: &str = "{{ content }}";

/// The templates of one row (`integration_templates`), as the caller found
/// it: the active one of the type, else the default one.
#[derive(Debug, Clone, Copy)]
pub struct TemplateSource<'a> {
    pub name: &'a str,
    pub subject: Option<&'a str>,
    pub body: &'a str,
}

impl<'a> From<&'a integration_templates::Model> for TemplateSource<'a> {
    fn from(row: &'a integration_templates::Model) -> Self {
        Self {
            name: &row.template_name,
            subject: row.subject_template.as_deref(),
            body: &row.body_template,
        }
    }
}

/// The variables a template sees (besides `subject`, the rendered subject).
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// The answer.
    pub content: &'a str,
    pub agent_id: Option<&'a str>,
    pub request_id: &'a str,
    pub session_id: &'a str,
    pub user_id: &'a str,
    pub created_at: DateTime<Utc>,
}

/// A rendered message and the template it came from (for
/// `delivery_logs.template_used`: the row's name, or `default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub message: Message,
    pub template: String,
}

/// Renders subject and body for a delivery of type `kind`. The subject
/// template sees `subject` as the default subject; the body sees the
/// rendered one. The HTML part is made from the rendered text body.
pub fn render(
    kind: IntegrationType,
    template: Option<TemplateSource<'_>>,
    context: &RenderContext<'_>,
) -> Result<Rendered, DeliveryError> {
    let (name, subject_source, body_source) = match template {
        Some(row) => (row.name, row.subject.unwrap_or(DEFAULT_SUBJECT), row.body),
        None => (DEFAULT_TEMPLATE, DEFAULT_SUBJECT, default_body(kind)),
    };
    let env = environment();
    let created_at = context
        .created_at
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let variables = |subject: &str| {
        minijinja::context! {
            content => context.content,
            agent_id => context.agent_id,
            request_id => context.request_id,
            session_id => context.session_id,
            user_id => context.user_id,
            created_at => created_at.clone(),
            subject => subject,
        }
    };
    let subject = render_one(
        &env,
        name,
        "subject",
        subject_source,
        variables(DEFAULT_SUBJECT),
    )?;
    let subject = single_line(&subject);
    let body = render_one(&env, name, "body", body_source, variables(&subject))?;
    Ok(Rendered {
        message: Message::new(subject, body),
        template: name.to_owned(),
    })
}

fn default_body(kind: IntegrationType) -> &'static str {
    match kind {
        IntegrationType::Email => DEFAULT_EMAIL_BODY,
        _ => DEFAULT_BODY,
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Text out; the HTML part escapes it itself (`crate::html`).
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env
}

fn render_one(
    env: &Environment<'_>,
    name: &str,
    part: &str,
    source: &str,
    variables: minijinja::Value,
) -> Result<String, DeliveryError> {
    let label = format!("{name}.{part}");
    env.render_named_str(&label, source, variables)
        .map_err(|error| {
            let reason = format!("template '{name}' ({part}) failed: {error}");
            DeliveryError::permanent(
                reason,
                json!({
                    "template": name,
                    "part": part,
                    "line": error.line(),
                    "error": error.kind().to_string(),
                }),
            )
        })
}

/// A subject is one header line: line breaks and runs of spaces become
/// one space.
pub(crate) fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
