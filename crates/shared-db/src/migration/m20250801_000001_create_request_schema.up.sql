-- The schema of the Python system's alembic revision 001, object for object:
-- same types (serial integer ids, varchar(n), json, timestamptz), same
-- nullability and the same constraint and index names, so that databases
-- created by either system are interchangeable.

CREATE TYPE integrationtype AS ENUM (
    'SLACK', 'WEB', 'CLI', 'TOOL', 'EMAIL', 'SMS', 'WEBHOOK', 'TEAMS', 'DISCORD', 'TEST'
);
CREATE TYPE sessionstatus AS ENUM ('ACTIVE', 'INACTIVE', 'EXPIRED', 'ARCHIVED');
CREATE TYPE deliverystatus AS ENUM ('PENDING', 'DELIVERED', 'FAILED', 'RETRYING', 'EXPIRED');

-- Other services poll this table for the revision they expect.
CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE request_sessions (
    id serial NOT NULL,
    session_id varchar(36) NOT NULL,
    user_id varchar(255) NOT NULL,
    integration_type integrationtype NOT NULL,
    status sessionstatus NOT NULL,
    channel_id varchar(255),
    thread_id varchar(255),
    integration_metadata json,
    total_requests integer NOT NULL,
    last_request_at timestamptz,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    external_session_id varchar(255),
    current_agent_id varchar(255),
    llama_stack_session_id varchar(255),
    user_context json,
    conversation_context json,
    last_request_id varchar(36),
    CONSTRAINT pk_request_sessions PRIMARY KEY (id),
    CONSTRAINT uq_request_sessions_session_id UNIQUE (session_id)
);
CREATE INDEX ix_session_id ON request_sessions (session_id);
CREATE INDEX ix_user_id ON request_sessions (user_id);

CREATE TABLE request_logs (
    id serial NOT NULL,
    request_id varchar(36) NOT NULL,
    session_id varchar(36) NOT NULL,
    request_type varchar(50) NOT NULL,
    request_content text NOT NULL,
    normalized_request json,
    agent_id varchar(255),
    processing_time_ms integer,
    response_content text,
    response_metadata json,
    cloudevent_id varchar(36),
    cloudevent_type varchar(100),
    completed_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT pk_request_logs PRIMARY KEY (id),
    CONSTRAINT uq_request_logs_request_id UNIQUE (request_id),
    CONSTRAINT fk_request_logs_session_id_request_sessions
        FOREIGN KEY (session_id) REFERENCES request_sessions (session_id)
);
CREATE INDEX ix_request_id ON request_logs (request_id);

CREATE TABLE user_integration_configs (
    id serial NOT NULL,
    user_id varchar(255) NOT NULL,
    integration_type integrationtype NOT NULL,
    enabled boolean NOT NULL,
    config json NOT NULL,
    priority integer NOT NULL,
    retry_count integer NOT NULL,
    retry_delay_seconds integer NOT NULL,
    created_by varchar(255),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT pk_user_integration_configs PRIMARY KEY (id),
    CONSTRAINT uq_user_integration UNIQUE (user_id, integration_type)
);
CREATE INDEX ix_user_integration_configs_user_id ON user_integration_configs (user_id);

CREATE TABLE integration_templates (
    id serial NOT NULL,
    integration_type integrationtype NOT NULL,
    template_name varchar(100) NOT NULL,
    subject_template text,
    body_template text NOT NULL,
    required_variables json,
    optional_variables json,
    is_default boolean NOT NULL,
    is_active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT pk_integration_templates PRIMARY KEY (id),
    CONSTRAINT uq_integration_template UNIQUE (integration_type, template_name)
);

CREATE TABLE integration_credentials (
    id serial NOT NULL,
    integration_type integrationtype NOT NULL,
    credential_name varchar(100) NOT NULL,
    encrypted_value text NOT NULL,
    description text,
    created_by varchar(255),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT pk_integration_credentials PRIMARY KEY (id),
    CONSTRAINT uq_integration_credential UNIQUE (integration_type, credential_name)
);

CREATE TABLE delivery_logs (
    id serial NOT NULL,
    request_id varchar(36) NOT NULL,
    session_id varchar(36) NOT NULL,
    user_id varchar(255) NOT NULL,
    integration_config_id integer NOT NULL,
    integration_type integrationtype NOT NULL,
    subject text,
    content text NOT NULL,
    template_used varchar(100),
    status deliverystatus NOT NULL,
    attempts integer NOT NULL,
    max_attempts integer NOT NULL,
    first_attempt_at timestamptz,
    last_attempt_at timestamptz,
    delivered_at timestamptz,
    expires_at timestamptz,
    error_message text,
    error_details json,
    integration_metadata json,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT pk_delivery_logs PRIMARY KEY (id),
    CONSTRAINT fk_delivery_logs_integration_config_id_user_integration_configs
        FOREIGN KEY (integration_config_id) REFERENCES user_integration_configs (id)
        ON DELETE CASCADE
);
CREATE INDEX ix_delivery_logs_request_id ON delivery_logs (request_id);
CREATE INDEX ix_delivery_logs_session_id ON delivery_logs (session_id);
CREATE INDEX ix_delivery_logs_user_id ON delivery_logs (user_id);

CREATE TABLE processed_events (
    id serial NOT NULL,
    event_id varchar(255) NOT NULL,
    event_type varchar(255) NOT NULL,
    event_source varchar(255) NOT NULL,
    request_id varchar(255),
    session_id varchar(255),
    processed_by varchar(100) NOT NULL,
    processing_result varchar(50) NOT NULL,
    error_message text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT pk_processed_events PRIMARY KEY (id),
    CONSTRAINT uq_processed_events_event_id UNIQUE (event_id)
);
CREATE INDEX ix_processed_events_created_at ON processed_events (created_at);
CREATE INDEX ix_processed_events_event_id ON processed_events (event_id);
CREATE INDEX ix_processed_events_request_id ON processed_events (request_id);

INSERT INTO alembic_version (version_num) VALUES ('001');
