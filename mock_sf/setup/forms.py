"""Setup console forms (Flask-WTF: every POST form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from mock_sf.oauth.permitted_users import POLICIES

# Handler record flags for each subject_token_type, in the order Setup shows them.
TOKEN_TYPE_FLAGS = (
    ("supports_access_token", "Access token"),
    ("supports_refresh_token", "Refresh token"),
    ("supports_id_token", "ID token"),
    ("supports_saml2", "SAML 2.0"),
    ("supports_jwt", "JWT"),
)


class LoginForm(FlaskForm):
    """Admin sign-in."""

    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Log in")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class AppSettingsForm(FlaskForm):
    """A connected app's token exchange settings and Permitted Users policy."""

    is_token_exchange_enabled = BooleanField("Enable Token Exchange Flow")
    is_secret_required_for_token_exchange = BooleanField("Require Secret for Token Exchange Flow")
    permitted_users = SelectField(
        "Permitted Users",
        choices=[SelectChoice(value, label) for value, label in POLICIES.items()],
        validate_choice=True,
    )
    # Choices (profile ids) are set by the view.
    preauthorized_profiles = SelectMultipleField(
        "Pre-authorized profiles", option_widget=CheckboxInput(), widget=ListWidget()
    )
    submit = SubmitField("Save")


class NewHandlerForm(FlaskForm):
    """A new token exchange handler record (the fields of SF_TOKEN_EXCHANGE_HANDLERS)."""

    developer_name = StringField("API name", validators=[DataRequired(), Length(max=80)])
    label = StringField("Label", validators=[Length(max=80)])
    handler_class = StringField(
        "Class (package.module:Class)", validators=[DataRequired(), Length(max=255)]
    )
    supports_access_token = BooleanField("Access token")
    supports_refresh_token = BooleanField("Refresh token")
    supports_id_token = BooleanField("ID token")
    supports_saml2 = BooleanField("SAML 2.0")
    supports_jwt = BooleanField("JWT")
    is_user_creation_allowed = BooleanField("Allow this handler to create users")
    is_enabled = BooleanField("Enabled", default=True)
    # Choices are set by the view: "" means the org's JIT_PROFILE / no app.
    jit_profile = SelectField("Profile of users it creates", validate_choice=True)
    app = SelectField("Enable for connected app", validate_choice=True)
    is_default = BooleanField("Default handler for this app")
    run_as = StringField("Run as (username)", validators=[Length(max=80)])
    submit = SubmitField("Create handler")


class UserProfileForm(FlaskForm):
    """A user's profile (choices set by the view)."""

    profile_id = SelectField("Profile", validate_choice=True)


class ProfileCloneForm(FlaskForm):
    """Clone a profile (Setup > Profiles > Clone), the fix for external profiles."""

    source_id = SelectField("Existing profile", validate_choice=True)
    name = StringField("Profile name", validators=[DataRequired(), Length(max=255)])
    api_enabled = BooleanField("API Enabled")
    submit = SubmitField("Clone")


class ProfileApiForm(FlaskForm):
    """A custom profile's API Enabled system permission."""

    api_enabled = BooleanField("API Enabled")
    submit = SubmitField("Save")


class UserDetailForm(FlaskForm):
    """A user's Federation ID, role and permission set assignments (choices set by the view)."""

    federation_identifier = StringField("Federation ID", validators=[Length(max=512)])
    user_role = StringField("Role", validators=[Length(max=80)])
    permission_sets = SelectMultipleField(
        "Permission sets", option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False)
    )
    submit = SubmitField("Save")


class HandlerForm(FlaskForm):
    """A token exchange handler record."""

    is_enabled = BooleanField("Enabled")
    is_user_creation_allowed = BooleanField("Allow this handler to create users")
    supports_access_token = BooleanField("Access token")
    supports_refresh_token = BooleanField("Refresh token")
    supports_id_token = BooleanField("ID token")
    supports_saml2 = BooleanField("SAML 2.0")
    supports_jwt = BooleanField("JWT")
    submit = SubmitField("Save")


class LogFilterForm(FlaskForm):
    """Exchange log filter (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    outcome = SelectField(
        "Outcome",
        choices=[
            SelectChoice("", "All"),
            SelectChoice("success", "Success"),
            SelectChoice("failure", "Failure"),
        ],
        default="",
    )
    submit = SubmitField("Filter")


class ScorecardForm(FlaskForm):
    """Which connected app's handlers the scorecard runs."""

    app_id = SelectField("Connected app", coerce=int)
    submit = SubmitField("Run scorecard")


class UserActiveForm(FlaskForm):
    """Activate ("1") or deactivate ("0") a user."""

    active = HiddenField(validators=[AnyOf(["0", "1"])])
