"""Writing the audit log (`AuditEvent`): the one function every audited action calls, and the
receivers that audit changes made outside this project's own code (the Django admin's log, API keys
issued by the ingest app). `PortalConfig.ready` connects them."""

import json

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save
from django.dispatch import receiver

from tanhui.portal.models import AuditEvent, current_request

ADMIN_ACTIONS = {ADDITION: AuditEvent.Action.ADMIN_ADD, CHANGE: AuditEvent.Action.ADMIN_CHANGE,
                 DELETION: AuditEvent.Action.ADMIN_DELETE}


def record(action: str, *, actor=None, citizen=None, target: str = "", object_id="", detail: dict | None = None,
           query_hash: str = "") -> AuditEvent:
    """Appends one event. `actor` defaults to the user of the request being handled (none on the
    command line); `detail` holds field names, counts and codes, never personal data."""
    if actor is None and (scope := current_request.get()) is not None:
        actor = scope.user
    return AuditEvent.objects.create(
        action=action, actor=actor if actor is not None and actor.is_authenticated else None, citizen=citizen,
        target=target, object_id=str(object_id or "")[:100], detail=detail or {}, query_hash=query_hash)


def is_staff_actor(user) -> bool:
    """Administrators and support staff: whose every change is audited."""
    from tanhui.people.models import User

    return user.is_authenticated and (user.is_staff or user.has_role(User.Role.ADMIN))


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_log_entry")
def audit_admin_change(sender, instance: LogEntry, created: bool, **kwargs):
    """Each add, change and delete the Django admin logs is also an audit event, with the names of
    the changed fields (the admin's own log keeps the object's text, which may hold personal data)."""
    if not created:
        return
    changed = _changed_fields(instance.change_message)
    content_type = instance.content_type
    record(ADMIN_ACTIONS[instance.action_flag], actor=instance.user,
           target=f"{content_type.app_label}.{content_type.model}" if content_type else "",
           object_id=instance.object_id, detail={"fields": changed} if changed else {})


def _changed_fields(change_message: str) -> list[str]:
    """The field labels of the admin's structured change message (a plain-text one names none)."""
    try:
        messages = json.loads(change_message or "[]")
    except ValueError:
        return []
    if not isinstance(messages, list):
        return []
    return [name for message in messages if isinstance(message, dict)
            for name in message.get("changed", {}).get("fields", [])]


@receiver(post_save, sender="ingest.ApiKey", dispatch_uid="audit_api_key_issued")
def audit_api_key_change(sender, instance, created: bool, update_fields=None, **kwargs):
    """A key issued, rotated or revoked, by a provider's staff on their page, an administrator or the
    command line (revocation saves `revoked_at` alone; rotation revokes and issues)."""
    if created:
        action = AuditEvent.Action.API_KEY_ISSUED
    elif update_fields and "revoked_at" in update_fields and instance.revoked_at is not None:
        action = AuditEvent.Action.API_KEY_REVOKED
    else:
        return
    record(action, target="ingest.apikey", object_id=instance.pk,
           detail={"provider": instance.provider.code, "name": instance.name})
