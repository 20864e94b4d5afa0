DROP TABLE policy_targets;
DROP TABLE notification_policies;
DROP TABLE webhooks;
DROP TABLE chatbots;
DROP TABLE contact_group_members;
DROP TABLE contact_groups;
