"""Setup console routes: thin adapters over admin.py, console.py and scorecard.py."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from wtforms.fields.choices import SelectChoice

from mock_sf.handlers import handler_context
from mock_sf.handlers.registration import BUILT_IN_CLASSES
from mock_sf.models import ConnectedApp
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.oauth import permitted_users
from mock_sf.setup import admin
from mock_sf.setup import console
from mock_sf.setup import scorecard
from mock_sf.setup.forms import TOKEN_TYPE_FLAGS
from mock_sf.setup.forms import ActionForm
from mock_sf.setup.forms import AppSettingsForm
from mock_sf.setup.forms import HandlerForm
from mock_sf.setup.forms import LogFilterForm
from mock_sf.setup.forms import LoginForm
from mock_sf.setup.forms import NewHandlerForm
from mock_sf.setup.forms import ProfileApiForm
from mock_sf.setup.forms import ProfileCloneForm
from mock_sf.setup.forms import ScorecardForm
from mock_sf.setup.forms import UserActiveForm
from mock_sf.setup.forms import UserDetailForm
from mock_sf.setup.forms import UserProfileForm

bp = Blueprint("setup", __name__, url_prefix="/setup")
PUBLIC_ENDPOINTS = frozenset({"setup.login"})

Page = str | tuple[str, int] | Response


@bp.before_request
def require_admin() -> Response | None:
    """Every page but the login needs an admin session."""
    g.admin = admin.current_admin()
    if g.admin is None and request.endpoint not in PUBLIC_ENDPOINTS:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("setup.login", next=target))
    return None


@bp.after_request
def no_caching(response: Response) -> Response:
    """Admin pages are private and must not be framed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.errorhandler(CSRFError)
def csrf_failed(exc: CSRFError) -> Page:
    """An expired or missing form token: the login form keeps the username, others explain."""
    if request.endpoint == "setup.login":
        # Only a real form post is re-shown: Flask-WTF would parse a JSON body, which may be junk.
        form = LoginForm(formdata=request.form, meta={"csrf": False})
        form.password.data = ""
        error = "The form expired. Please log in again."
        return _login_page(form, error, 400)
    return _error_page(400, "The form expired", "Go back, reload the page and try again.")


@bp.errorhandler(NotFound)
def not_found(exc: HTTPException) -> Page:
    """Unknown record ids get a friendly page inside the console."""
    return _error_page(404, "Not found", "There is no such record in this org.")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Page:
    """Admin sign-in; a failure says nothing about which part was wrong; too many lock the
    username at this address (and a username or address everywhere) for a while."""
    if g.admin is not None:
        return redirect(url_for("setup.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return _login_page(form, None, 400 if form.is_submitted() else 200)
    username, address = form.username.data or "", request.remote_addr or ""
    locked_for = admin.login_locked_for(username, address)
    if locked_for is not None:  # the password is not even checked
        page, status = _login_page(form, admin.locked_out_message(locked_for), 429)
        return Response(page, status, {"Retry-After": str(locked_for)})
    user = admin.authenticate(username, form.password.data or "")
    admin.record_login(username, address, succeeded=user is not None)
    if user is None:
        return _login_page(form, admin.FAILED_LOGIN, 401)
    admin.log_in(user)
    return redirect(admin.safe_next(request.args.get("next"), url_for("setup.index")), 303)


@bp.post("/logout")
def logout() -> Response:
    """End the admin session."""
    if ActionForm().validate_on_submit():
        admin.log_out()
    return redirect(url_for("setup.login"), 303)


@bp.get("/")
def index() -> str:
    """Start page."""
    return render_template("setup/index.html")


@bp.get("/apps")
def apps() -> str:
    """Connected apps."""
    return render_template("setup/apps.html", apps=console.apps(), console=console)


@bp.route("/apps/<int:app_id>", methods=["GET", "POST"])
def app_detail(app_id: int) -> Page:
    """One connected app; POST saves its token exchange settings."""
    app = db.get_or_404(ConnectedApp, app_id)
    form = AppSettingsForm(obj=app)
    form.preauthorized_profiles.choices = console.profile_choices()
    if not form.is_submitted():
        form.permitted_users.data = permitted_users.policy(app)
        form.preauthorized_profiles.data = sorted(permitted_users.preauthorized_profile_ids(app))
    if form.validate_on_submit():
        console.update_app(
            app,
            form.is_token_exchange_enabled.data,
            form.is_secret_required_for_token_exchange.data,
        )
        if form.permitted_users.raw_data:  # a post without the policy section leaves it
            console.update_app_access(
                app, form.permitted_users.data, form.preauthorized_profiles.data or []
            )
        flash(f"Saved {app.developer_name}.")
        return redirect(url_for("setup.app_detail", app_id=app.id), 303)
    links = console.app_links(app)
    page = render_template("setup/app.html", app=app, form=form, links=links, console=console)
    return page, 400 if form.errors else 200


@bp.get("/handlers")
def handlers() -> str:
    """Token exchange handlers."""
    return render_template("setup/handlers.html", handlers=console.handlers(), console=console)


@bp.route("/handlers/new", methods=["GET", "POST"])
def new_handler() -> Page:
    """Create a handler record; the class import path is checked as init-db checks it."""
    form = NewHandlerForm()
    form.jit_profile.choices = console.profile_choices(blank="The org's default (JIT_PROFILE)")
    form.app.choices = console.app_choices()
    error = None
    if form.validate_on_submit():
        try:
            handler = console.create_handler(form.data)
        except console.SetupError as exc:
            error = str(exc)
        else:
            flash(f"Created {handler.developer_name}.")
            return redirect(url_for("setup.handler_detail", handler_id=handler.id), 303)
    page = render_template(
        "setup/handler_new.html",
        form=form,
        error=error,
        flags=TOKEN_TYPE_FLAGS,
        built_ins=BUILT_IN_CLASSES,
    )
    return page, 400 if form.errors or error else 200


@bp.route("/handlers/<int:handler_id>", methods=["GET", "POST"])
def handler_detail(handler_id: int) -> Page:
    """One handler record; POST saves its flags and supported token types."""
    handler = db.get_or_404(OauthTokenExchangeHandler, handler_id)
    form = HandlerForm(obj=handler)
    if form.validate_on_submit():
        console.update_handler(handler, {name: field.data for name, field in form._fields.items()})
        flash(f"Saved {handler.developer_name}.")
        return redirect(url_for("setup.handler_detail", handler_id=handler.id), 303)
    links = console.handler_links(handler)
    page = render_template(
        "setup/handler.html", handler=handler, form=form, links=links, flags=TOKEN_TYPE_FLAGS
    )
    return page, 400 if form.errors else 200


@bp.get("/users")
def users() -> str:
    """Users of the org."""
    pagination = console.users(request.args.get("page", 1, type=int))
    profiles = console.profile_choices()
    return render_template(
        "setup/users.html", pagination=pagination, form=UserActiveForm(), profiles=profiles
    )


@bp.route("/users/<user_id>", methods=["GET", "POST"])
def user_detail(user_id: str) -> Page:
    """One user: API access, Federation ID, permission sets; POST saves the last two."""
    user = db.get_or_404(User, user_id)
    form = UserDetailForm(obj=user)
    form.permission_sets.choices = console.permission_set_choices()
    if not form.is_submitted():
        form.permission_sets.data = console.assigned_permission_set_ids(user)
    error = None
    if form.validate_on_submit():
        try:
            console.update_user(
                user,
                form.federation_identifier.data or "",
                form.user_role.data or "",
                form.permission_sets.data or [],
            )
        except console.SetupError as exc:
            error = str(exc)
        else:
            flash(f"Saved {user.username}.")
            return redirect(url_for("setup.user_detail", user_id=user.id), 303)
    page = render_template(
        "setup/user.html", user=user, form=form, error=error, access=console.api_access(user)
    )
    return page, 400 if form.errors or error else 200


@bp.get("/profiles")
def profiles() -> str:
    """Profiles with their license, API Enabled, and a clone form."""
    return _profiles_page(ProfileCloneForm(), None)[0]


@bp.post("/profiles/clone")
def clone_profile() -> Page:
    """Clone a profile (the fix for standard external profiles)."""
    form = ProfileCloneForm()
    form.source_id.choices = console.profile_choices()
    if not form.validate_on_submit():
        return _profiles_page(form, None)
    try:
        profile = console.clone(form.source_id.data, form.name.data, form.api_enabled.data)
    except console.SetupError as exc:
        return _profiles_page(form, str(exc))
    flash(f"Created the profile {profile.name}.")
    return redirect(url_for("setup.profiles"), 303)


@bp.post("/profiles/<profile_id>/api")
def profile_api(profile_id: str) -> Page:
    """Turn a custom profile's API Enabled on or off."""
    profile = db.get_or_404(Profile, profile_id)
    form = ProfileApiForm()
    if not form.validate_on_submit():
        return _error_page(400, "Bad request", "The form expired; reload the page.")
    try:
        console.set_profile_api_enabled(profile, form.api_enabled.data)
    except console.SetupError as exc:
        flash(str(exc), "error")
    else:
        state = "on" if profile.api_enabled else "off"
        flash(f"API Enabled is {state} for {profile.name}.")
    return redirect(url_for("setup.profiles"), 303)


@bp.post("/users/<user_id>/profile")
def user_profile(user_id: str) -> Page:
    """Change a user's profile."""
    user = db.get_or_404(User, user_id)
    form = UserProfileForm()
    form.profile_id.choices = console.profile_choices()
    if not form.validate_on_submit():
        return _error_page(400, "Bad request", "Choose one of the org's profiles.")
    console.set_user_profile(user, form.profile_id.data)
    flash(f"{user.username} now has the profile {user.profile.name}.")
    return redirect(url_for("setup.users", page=request.args.get("page", 1, type=int)), 303)


@bp.post("/users/<user_id>/active")
def user_active(user_id: str) -> Page:
    """Activate or deactivate a user."""
    user = db.get_or_404(User, user_id)
    form = UserActiveForm()
    if not form.validate_on_submit():
        return _error_page(400, "Bad request", "Activate or deactivate, nothing else.")
    try:
        console.set_user_active(user, form.active.data == "1", g.admin)
    except console.SetupError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{user.username} is now {'active' if user.is_active else 'inactive'}.")
    return redirect(url_for("setup.users", page=request.args.get("page", 1, type=int)), 303)


@bp.get("/cases")
def cases() -> str:
    """Cases, newest first."""
    pagination, contacts = console.cases(request.args.get("page", 1, type=int))
    return render_template("setup/cases.html", pagination=pagination, contacts=contacts)


@bp.get("/log")
def exchange_log() -> Page:
    """Every token exchange attempt with its precise reason, newest first."""
    form = LogFilterForm(formdata=request.args)
    outcome = form.outcome.data if form.validate() else None
    pagination, entries = console.exchange_log(outcome, request.args.get("page", 1, type=int))
    page = render_template(
        "setup/log.html", form=form, pagination=pagination, entries=entries, outcome=outcome
    )
    return page, 400 if form.errors else 200


@bp.get("/scorecard")
def scorecard_page() -> str:
    """The scorecard form."""
    return render_template("setup/scorecard.html", form=_scorecard_form(), result=None)


@bp.post("/scorecard/run")
def scorecard_run() -> Page:
    """Run every forge variant against the chosen app's handlers."""
    form = _scorecard_form()
    if not form.validate_on_submit():
        return render_template("setup/scorecard.html", form=form, result=None), 400
    app = db.get_or_404(ConnectedApp, form.app_id.data)
    config = current_app.config
    try:
        result = scorecard.run(
            current_app.extensions["mock_sf.forge"],
            app,
            handler_context(),
            user=config["SCORECARD_USER"],
            audiences=scorecard.forge_audiences(config),
        )
    except scorecard.ForgeUnavailable as exc:
        message = (
            f"The IdP is not reachable at {config['IDP_URL']} ({exc}). Start mock_idp with"
            " IDP_DEMO_CONTROLS=1 and run the scorecard again."
        )
        return render_template("setup/scorecard.html", form=form, result=None, error=message), 502
    except scorecard.ForgeError as exc:
        message = f"The IdP's forge at {config['IDP_URL']} gave an unusable answer: {exc}"
        return render_template("setup/scorecard.html", form=form, result=None, error=message), 502
    return render_template("setup/scorecard.html", form=form, result=result)


def _scorecard_form() -> ScorecardForm:
    form = ScorecardForm()
    choices = [SelectChoice(app.id, app.developer_name) for app in console.apps()]
    form.app_id.choices = choices
    if form.app_id.data is None and choices:
        enabled = [app.id for app in console.apps() if app.is_token_exchange_enabled]
        form.app_id.data = enabled[0] if enabled else choices[0].value
    return form


def _profiles_page(form: ProfileCloneForm, error: str | None) -> tuple[str, int]:
    form.source_id.choices = console.profile_choices()
    page = render_template(
        "setup/profiles.html",
        rows=console.profiles_with_counts(),
        permission_sets=console.permission_set_choices(),
        form=form,
        error=error,
    )
    return page, 400 if form.errors or error else 200


def _login_page(form: LoginForm, error: str | None, status: int) -> tuple[str, int]:
    form.password.data = ""  # never echo a password
    next_target = request.args.get("next")
    page = render_template("setup/login.html", form=form, error=error, next_target=next_target)
    return page, status


def _error_page(status: int, title: str, message: str) -> tuple[str, int]:
    page = render_template("setup/error.html", status=status, title=title, message=message)
    return page, status
