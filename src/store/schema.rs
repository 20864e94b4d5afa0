// Hand-written for both backends: only types that mean the same on SQLite and PostgreSQL.

diesel::table! {
    app_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    workspaces (id) {
        id -> Text,
        name -> Text,
        default_fallback -> Text,
        default_language -> Text,
        time_zone -> Text,
        contacts_version -> BigInt,
        created_at -> Timestamp,
        alternate_contact_id -> Nullable<Text>,
        last_resort_email -> Nullable<Text>,
        last_resort_activated_at -> Nullable<Timestamp>,
        last_resort_selector -> Nullable<Text>,
        last_resort_verifier_hash -> Nullable<Text>,
        last_resort_link_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    daily_stats_runs (chatbot_id, day, at_time) {
        chatbot_id -> Text,
        day -> Text,
        at_time -> Text,
        slot_at -> Timestamp,
        state -> Text,
        claimed_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    settings_changes (id) {
        id -> Text,
        workspace_id -> Text,
        user_email -> Text,
        at -> Timestamp,
        what -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        must_change_password -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    memberships (workspace_id, user_id) {
        workspace_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    user_sessions (id) {
        id -> Text,
        user_id -> Text,
        user_agent -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    alerts (id) {
        id -> Text,
        workspace_id -> Text,
        fingerprint -> Text,
        labels -> Text,
        annotations -> Text,
        status -> Text,
        starts_at -> Timestamp,
        ends_at -> Nullable<Timestamp>,
        generator_url -> Nullable<Text>,
        source -> Text,
        received_at -> Timestamp,
        last_received_at -> Timestamp,
    }
}

diesel::table! {
    alert_events (id) {
        id -> Text,
        alert_id -> Text,
        at -> Timestamp,
        kind -> Text,
        starts_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        workspace_id -> Text,
        name -> Text,
        token_hash -> Text,
        hint -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        workspace_id -> Text,
        email -> Text,
        role -> Text,
        invited_by -> Nullable<Text>,
        selector -> Text,
        verifier_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_start -> Timestamp,
    }
}

diesel::table! {
    contacts (id) {
        id -> Text,
        workspace_id -> Text,
        name -> Text,
        phone -> Nullable<Text>,
        phone_verified_at -> Nullable<Timestamp>,
        email -> Nullable<Text>,
        im_user_id -> Nullable<Text>,
        language -> Text,
        fallback -> Text,
        search_text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        phone_link_expires_at -> Nullable<Timestamp>,
        email_verified_at -> Nullable<Timestamp>,
        email_link_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    verification_links (id) {
        id -> Text,
        workspace_id -> Text,
        contact_id -> Text,
        method -> Text,
        target -> Text,
        selector -> Text,
        verifier_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    verification_sends (target, created_at) {
        target -> Text,
        workspace_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dev_outbox (id) {
        id -> Text,
        workspace_id -> Nullable<Text>,
        channel -> Text,
        recipient -> Text,
        subject -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    verify_batches (id) {
        id -> Text,
        workspace_id -> Text,
        created_by -> Text,
        total -> Integer,
        sent -> Integer,
        failed -> Integer,
        state -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    verify_batch_failures (batch_id, contact_name, target) {
        batch_id -> Text,
        contact_name -> Text,
        target -> Text,
        reason -> Text,
    }
}

diesel::table! {
    contact_groups (id) {
        id -> Text,
        workspace_id -> Text,
        name -> Text,
        name_key -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contact_group_members (group_id, contact_id) {
        group_id -> Text,
        contact_id -> Text,
    }
}

diesel::table! {
    chatbots (id) {
        id -> Text,
        workspace_id -> Text,
        platform -> Text,
        name -> Text,
        name_key -> Text,
        webhook_url -> Text,
        secret -> Nullable<Text>,
        keyword -> Nullable<Text>,
        daily_stats -> Bool,
        daily_stats_times -> Text,
        card_template -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        bind_generation -> Integer,
        bind_token_hash -> Nullable<Text>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        workspace_id -> Text,
        name -> Text,
        name_key -> Text,
        method -> Text,
        url -> Text,
        headers -> Text,
        template -> Text,
        resolve_template -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notification_policies (id) {
        id -> Text,
        workspace_id -> Text,
        name -> Text,
        name_key -> Text,
        enabled -> Bool,
        matchers -> Text,
        methods -> Text,
        mention -> Bool,
        notify_resolved -> Bool,
        group_by -> Text,
        repeat_minutes -> Integer,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        group_wait_secs -> Integer,
        group_interval_secs -> Integer,
    }
}

diesel::table! {
    policy_targets (policy_id, kind, target_id) {
        policy_id -> Text,
        kind -> Text,
        target_id -> Text,
    }
}

diesel::table! {
    alert_groups (id) {
        id -> Text,
        workspace_id -> Text,
        policy_id -> Text,
        group_key -> Text,
        created_at -> Timestamp,
        flush_at -> Nullable<Timestamp>,
        last_notified_at -> Nullable<Timestamp>,
        notified_firing -> Text,
    }
}

diesel::table! {
    group_alerts (group_id, alert_id) {
        group_id -> Text,
        alert_id -> Text,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        workspace_id -> Text,
        policy_id -> Nullable<Text>,
        policy_name -> Text,
        status -> Text,
        payload -> Text,
        created_at -> Timestamp,
        received_at -> Timestamp,
    }
}

diesel::table! {
    notification_alerts (notification_id, alert_id) {
        notification_id -> Text,
        alert_id -> Text,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Text,
        workspace_id -> Text,
        notification_id -> Text,
        channel -> Text,
        target_id -> Text,
        recipient -> Text,
        address -> Nullable<Text>,
        state -> Text,
        due_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        attempts -> Integer,
        last_outcome -> Nullable<Text>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        replaces_id -> Nullable<Text>,
        hop -> Nullable<Text>,
        meant_for -> Nullable<Text>,
        note -> Nullable<Text>,
        provider_ref -> Nullable<Text>,
        unreached -> Bool,
        mentions -> Nullable<Text>,
    }
}

diesel::table! {
    schedules (id) {
        id -> Text,
        workspace_id -> Text,
        name -> Text,
        name_key -> Text,
        time_zone -> Text,
        rotation -> Text,
        handoff -> Text,
        start_date -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    schedule_participants (schedule_id, position) {
        schedule_id -> Text,
        position -> Integer,
        contact_id -> Text,
    }
}

diesel::table! {
    schedule_overrides (id) {
        id -> Text,
        schedule_id -> Text,
        contact_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bind_codes (id) {
        id -> Text,
        chatbot_id -> Text,
        phone -> Text,
        contact_id -> Nullable<Text>,
        code_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        wrong_tries -> Integer,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    contact_bindings (contact_id, platform) {
        contact_id -> Text,
        platform -> Text,
        chatbot_id -> Nullable<Text>,
        bound_at -> Timestamp,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        at -> Timestamp,
        duration_ms -> Integer,
        outcome -> Text,
        code -> Nullable<Text>,
        message -> Text,
    }
}

diesel::joinable!(group_alerts -> alert_groups (group_id));
diesel::joinable!(group_alerts -> alerts (alert_id));
diesel::joinable!(notification_alerts -> notifications (notification_id));
diesel::joinable!(notification_alerts -> alerts (alert_id));
diesel::joinable!(deliveries -> notifications (notification_id));
diesel::joinable!(delivery_attempts -> deliveries (delivery_id));
diesel::joinable!(contact_bindings -> contacts (contact_id));
diesel::joinable!(chatbots -> workspaces (workspace_id));
diesel::joinable!(memberships -> workspaces (workspace_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(invitations -> workspaces (workspace_id));
diesel::joinable!(api_tokens -> workspaces (workspace_id));
diesel::joinable!(alerts -> workspaces (workspace_id));
diesel::joinable!(alert_events -> alerts (alert_id));
diesel::joinable!(contacts -> workspaces (workspace_id));
diesel::joinable!(verification_links -> contacts (contact_id));
diesel::joinable!(contact_group_members -> contact_groups (group_id));
diesel::joinable!(contact_group_members -> contacts (contact_id));
diesel::joinable!(schedule_participants -> schedules (schedule_id));
diesel::joinable!(schedule_participants -> contacts (contact_id));
diesel::joinable!(schedule_overrides -> schedules (schedule_id));
diesel::joinable!(schedule_overrides -> contacts (contact_id));
diesel::joinable!(policy_targets -> notification_policies (policy_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_secrets,
    workspaces,
    settings_changes,
    daily_stats_runs,
    users,
    memberships,
    login_throttle,
    user_sessions,
    invitations,
    api_tokens,
    alerts,
    alert_events,
    contacts,
    contact_bindings,
    bind_codes,
    verification_links,
    verification_sends,
    dev_outbox,
    verify_batches,
    verify_batch_failures,
    contact_groups,
    contact_group_members,
    schedules,
    schedule_participants,
    schedule_overrides,
    chatbots,
    webhooks,
    notification_policies,
    policy_targets,
    alert_groups,
    group_alerts,
    notifications,
    notification_alerts,
    deliveries,
    delivery_attempts,
);
