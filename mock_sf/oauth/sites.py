"""Experience Cloud sites (Network, prefix ``0DB``): the OAuth endpoints also answer under a site
path prefix, and a request there carries the site's id into the handler and the token response."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask import current_app
from flask import request
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_sf import ids
from mock_sf.models import Base
from mock_sf.models import db

# The OAuth blueprint's second registration, under the site path prefix.
SITE_BLUEPRINT = "oauth_site"


class Network(Base):
    """An Experience Cloud site (object Network)."""

    __tablename__ = "network"
    id: Mapped[str] = mapped_column(
        String(18), primary_key=True, default=lambda: ids.new_id(ids.KEY_PREFIXES["Network"])
    )
    name: Mapped[str] = mapped_column(String(80))
    url_path_prefix: Mapped[str] = mapped_column(String(80), unique=True)


@dataclass(frozen=True)
class Site:
    """The site a request came in on: its Network id and its URL (``{SF_URL}/<prefix>``)."""

    network_id: str
    url: str


def find_site(prefix: str, sf_url: str) -> Site | None:
    """The site whose path prefix is ``prefix``, or None if the org has none."""
    network_id = db.session.scalar(select(Network.id).where(Network.url_path_prefix == prefix))
    return None if network_id is None else Site(network_id, f"{sf_url}/{prefix}")


def current_site() -> Site | None:
    """The site of a request on the site path (404 if the org has no such site), else None."""
    if request.blueprint != SITE_BLUEPRINT:
        return None
    config = current_app.config
    site = find_site(config["SITE_PATH_PREFIX"].strip("/"), config["SF_URL"])
    if site is None:
        abort(404)
    return site


def seed_network(prefix: str, name: str) -> Network:
    """The site for ``prefix``, added if missing (idempotent; natural key: the prefix)."""
    network = db.session.scalar(select(Network).where(Network.url_path_prefix == prefix))
    if network is None:
        network = Network(name=name, url_path_prefix=prefix)
        db.session.add(network)
    return network
