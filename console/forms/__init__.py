"""Small console forms. They only read input: the rules (who may, what is valid) live in deployments.services.

The service form is not here: it is a view of a config, see console/service_form.py.
"""

from django import forms

from deployments.choices import Role
from deployments.models import AddressingStyle


class WorkspaceForm(forms.Form):
    name = forms.CharField(label="Workspace name", max_length=100)


class MemberForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class RegistryCredentialForm(forms.Form):
    name = forms.CharField(label="Credential name", max_length=63)
    registry = forms.CharField(
        label="Registry", max_length=255, help_text="Host and port, e.g. registry.example.com:5000"
    )
    username = forms.CharField(label="Registry username", max_length=255)
    password = forms.CharField(label="Registry password", widget=forms.PasswordInput)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label="Key name", max_length=100, required=False, help_text="What the key is for, e.g. CI")


class ImportForm(forms.Form):
    """A config to load into the service form: pasted or uploaded. The file wins if both come (the page's
    script clears the file when text is pasted after it, so the last one given wins); `source` names
    the one used, for error messages."""

    import_text = forms.CharField(label="Paste JSON", required=False, widget=forms.Textarea(attrs={"rows": 6}))
    import_file = forms.FileField(label="JSON file", required=False)

    MAX_BYTES = 1_000_000

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("import_file")
        if upload:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError("the file is larger than 1 MB; a service config is a few KB")
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(f"{upload.name} is not UTF-8 text; is it a JSON file?")
            data["source"] = upload.name
        else:
            data["text"] = data.get("import_text", "")
            data["source"] = "The pasted text"
        if not data["text"].strip():
            raise forms.ValidationError("paste a JSON config or choose a file to import")
        return data


PEM = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})


class HostForm(forms.Form):
    """Reads the host fields; host_actions.host_register checks them (URL scheme) and saves."""

    name = forms.SlugField(label="Host name", max_length=63, help_text="Letters, digits, - and _; e.g. gpu-1")
    kind = forms.ChoiceField(
        label="Kind", choices=[("engine", "One Docker engine"), ("swarm", "A Swarm cluster (its manager's endpoint)")],
        initial="engine", help_text="A Swarm cluster places instances on its nodes itself",
    )  # fmt: skip
    url = forms.CharField(
        label="Docker URL", max_length=255, initial="unix:///var/run/docker.sock",
        help_text="unix:///var/run/docker.sock, or tcp://host:2376 for a remote engine",
    )  # fmt: skip
    address = forms.CharField(
        label="Address", max_length=255, initial="127.0.0.1",
        help_text="The address instance ports are published on and the gateway dials",
    )  # fmt: skip
    tls_ca = forms.CharField(label="TLS CA certificate (PEM)", required=False, widget=PEM)
    tls_cert = forms.CharField(label="TLS client certificate (PEM)", required=False, widget=PEM)
    tls_key = forms.CharField(
        label="TLS client key (PEM)", required=False, widget=PEM,
        help_text="Only for tcp:// hosts with TLS. Stored encrypted.",
    )  # fmt: skip


class ObjectStoreForm(forms.Form):
    name = forms.CharField(label="Connection name", max_length=63, help_text="Configs name it in berth.object_store")
    endpoint_url = forms.CharField(
        label="Endpoint URL", max_length=255,
        help_text="S3 protocol: e.g. https://oss-cn-hangzhou.aliyuncs.com, http://minio.internal:9000",
    )
    region = forms.CharField(label="Region", max_length=63, required=False, help_text="e.g. cn-hangzhou; default us-east-1")
    addressing_style = forms.ChoiceField(label="Addressing", choices=AddressingStyle.choices, initial=AddressingStyle.AUTO)
    access_key_id = forms.CharField(label="Access key ID", max_length=255)
    secret_access_key = forms.CharField(label="Secret access key", widget=forms.PasswordInput)
    is_default = forms.BooleanField(label="Default for this workspace's oss mounts", required=False)


class AlertChannelForm(forms.Form):
    name = forms.CharField(max_length=63, help_text="e.g. oncall-slack")
    kind = forms.ChoiceField(choices=[("webhook", "Webhook (JSON POST)"), ("email", "E-mail")])
    url = forms.CharField(
        required=False,
        label="Webhook URL",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/…", "autocomplete": "off"}),
        help_text="for a webhook: stored encrypted, never shown again",
    )
    emails = forms.CharField(required=False, label="E-mail addresses", help_text="for e-mail: comma-separated")
