"""A provider's single API key becomes its `default` ApiKey (all its scenarios), so keys already handed
out keep working."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def carry_over_provider_keys(apps, schema_editor):
    Provider = apps.get_model("ingest", "Provider")
    ApiKey = apps.get_model("ingest", "ApiKey")
    ApiKey.objects.bulk_create(
        ApiKey(provider_id=p.pk, name="default", key_hash=p.api_key_hash, prefix=p.api_key_prefix,
               created_at=p.api_key_rotated_at)
        for p in Provider.objects.all())


def restore_provider_keys(apps, schema_editor):
    """Back to one key per provider: the newest live one (a provider without any gets an unusable hash)."""
    Provider = apps.get_model("ingest", "Provider")
    ApiKey = apps.get_model("ingest", "ApiKey")
    for provider in Provider.objects.all():
        key = ApiKey.objects.filter(provider=provider, revoked_at__isnull=True).order_by("-created_at").first()
        provider.api_key_hash = key.key_hash if key else f"revoked-{provider.pk}"
        provider.api_key_prefix = key.prefix[:24] if key else ""
        provider.save(update_fields=["api_key_hash", "api_key_prefix"])


class Migration(migrations.Migration):

    dependencies = [
        ('ingest', '0004_alter_provider_api_key_rotated_at'),
        ('methodology', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.SlugField(verbose_name='名称')),
                ('key_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('prefix', models.CharField(editable=False, max_length=60, verbose_name='密钥前缀')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='创建时间')),
                ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='最近使用')),
                ('revoked_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='吊销时间')),
                ('provider', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='ingest.provider', verbose_name='数据方')),
                ('scenarios', models.ManyToManyField(blank=True, help_text='不选则可报送该数据方的全部场景', related_name='+', to='methodology.scenario', verbose_name='限定场景')),
            ],
            options={
                'verbose_name': 'API 密钥',
                'verbose_name_plural': 'API 密钥',
                'ordering': ['provider', 'name', '-created_at'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('revoked_at__isnull', True)), fields=('provider', 'name'), name='one_live_key_per_name')],
            },
        ),
        migrations.RunPython(carry_over_provider_keys, restore_provider_keys),
        migrations.RemoveField(
            model_name='provider',
            name='api_key_hash',
        ),
        migrations.RemoveField(
            model_name='provider',
            name='api_key_prefix',
        ),
        migrations.RemoveField(
            model_name='provider',
            name='api_key_rotated_at',
        ),
    ]
