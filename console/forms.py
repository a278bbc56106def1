"""Small console forms. They only read input: the rules (who may, what is valid) live in deployments.services.

The service form is not here: it is a view of a config, see console/service_form.py.
"""

from django import forms

from deployments.choices import Role


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
