//! Subject and body from `integration_templates` rows and the defaults.

use chrono::{TimeZone, Utc};
use delivery::{IntegrationType, RenderContext, TemplateSource, render};
use shared_db::entities::integration_templates;

fn context() -> RenderContext<'static> {
    RenderContext {
        content: "Your laptop is **ordered**.",
        agent_id: Some("laptop-refresh"),
        request_id: "req-1",
        session_id: "ses-1",
        user_id: "alice",
        created_at: Utc
            .with_ymd_and_hms(2025, 8, 1, 12, 30, 0)
            .single()
            .expect("a valid date"),
    }
}

fn row<'a>(subject: Option<&'a str>, body: &'a str) -> TemplateSource<'a> {
    TemplateSource {
        name: "it-answer",
        subject,
        body,
    }
}

#[test]
fn the_default_email_template_holds_the_answer_and_who_answered() {
    let rendered = render(IntegrationType::Email, None, &context()).unwrap();
    assert_eq!(rendered.template, "default");
    assert_eq!(
        rendered.message.subject,
        "Your IT request has been answered"
    );
    let text = &rendered.message.text;
    assert!(text.starts_with("Your laptop is **ordered**.\n"), "{text}");
    assert!(
        text.contains("Answered by laptop-refresh. Request req-1, session ses-1."),
        "{text}"
    );
}

#[test]
fn the_default_webhook_body_is_the_answer_itself() {
    let rendered = render(IntegrationType::Webhook, None, &context()).unwrap();
    assert_eq!(rendered.message.text, "Your laptop is **ordered**.");
}

#[test]
fn a_row_sees_every_variable() {
    let body = "{{ content }}|{{ agent_id }}|{{ request_id }}|{{ session_id }}|{{ user_id }}|{{ created_at }}|{{ subject }}";
    let rendered = render(
        IntegrationType::Email,
        Some(row(Some("[IT] {{ request_id }}"), body)),
        &context(),
    )
    .unwrap();
    assert_eq!(rendered.template, "it-answer");
    assert_eq!(rendered.message.subject, "[IT] req-1");
    assert_eq!(
        rendered.message.text,
        "Your laptop is **ordered**.|laptop-refresh|req-1|ses-1|alice|2025-08-01T12:30:00Z|[IT] req-1"
    );
}

#[test]
fn a_row_without_a_subject_template_gets_the_default_subject() {
    let rendered = render(
        IntegrationType::Email,
        Some(row(None, "{{ content }}")),
        &context(),
    )
    .unwrap();
    assert_eq!(
        rendered.message.subject,
        "Your IT request has been answered"
    );
}

#[test]
fn a_subject_template_can_extend_the_default_subject() {
    let rendered = render(
        IntegrationType::Email,
        Some(row(Some("{{ subject | upper }} ({{ user_id }})"), "x")),
        &context(),
    )
    .unwrap();
    assert_eq!(
        rendered.message.subject,
        "YOUR IT REQUEST HAS BEEN ANSWERED (alice)"
    );
}

#[test]
fn a_subject_is_one_line() {
    let rendered = render(
        IntegrationType::Email,
        Some(row(Some("Answer\r\nBcc: eve@example.com"), "x")),
        &context(),
    )
    .unwrap();
    assert_eq!(rendered.message.subject, "Answer Bcc: eve@example.com");
}

#[test]
fn the_html_part_is_made_from_the_rendered_body() {
    let rendered = render(
        IntegrationType::Email,
        Some(row(None, "<b>{{ user_id }}</b>: {{ content }}")),
        &context(),
    )
    .unwrap();
    let html = &rendered.message.html;
    assert!(html.contains("&lt;b&gt;alice&lt;/b&gt;"), "{html}");
    assert!(html.contains("<strong>ordered</strong>"), "{html}");
}

#[test]
fn a_syntax_error_fails_permanently_naming_the_template() {
    let error = render(
        IntegrationType::Email,
        Some(row(None, "{% if %}")),
        &context(),
    )
    .unwrap_err();
    assert!(error.is_permanent());
    assert!(
        error
            .reason()
            .starts_with("template 'it-answer' (body) failed"),
        "{}",
        error.reason()
    );
    assert_eq!(error.details()["template"], "it-answer");
}

#[test]
fn an_undefined_variable_fails_permanently() {
    let error = render(
        IntegrationType::Email,
        Some(row(Some("{{ ticket_number }}"), "x")),
        &context(),
    )
    .unwrap_err();
    assert!(error.is_permanent());
    assert!(error.reason().contains("(subject)"), "{}", error.reason());
    assert!(error.reason().contains("undefined"), "{}", error.reason());
}

#[test]
fn a_runaway_template_is_stopped() {
    let body = "{% for i in range(100000) %}{% for j in range(100000) %}.{% endfor %}{% endfor %}";
    let error = render(IntegrationType::Email, Some(row(None, body)), &context()).unwrap_err();
    assert!(error.is_permanent(), "{error:?}");
    assert!(error.reason().contains("fuel"), "{}", error.reason());
}

#[test]
fn a_template_row_is_a_template_source() {
    let now = Utc::now().fixed_offset();
    let model = integration_templates::Model {
        id: 1,
        integration_type: IntegrationType::Email,
        template_name: "from-db".into(),
        subject_template: Some("Re: {{ request_id }}".into()),
        body_template: "{{ content }}".into(),
        required_variables: None,
        optional_variables: None,
        is_default: true,
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    let rendered = render(IntegrationType::Email, Some((&model).into()), &context()).unwrap();
    assert_eq!(rendered.template, "from-db");
    assert_eq!(rendered.message.subject, "Re: req-1");
}
