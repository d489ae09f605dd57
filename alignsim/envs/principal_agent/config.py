"""Parameters of the principal-agent env, validated on construction (errors name the field)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from alignsim.envs.base import check_limits, config_from_kwargs
from alignsim.envs.principal_agent import texts
from alignsim.envs.text import need
from alignsim.errors import ConfigError

AUDIENCES: tuple[str, ...] = ("both", "customer", "principal", "neither")
"""Who reads the agent's explanation (the paper's four information conditions)."""
CONTRACTS: tuple[str, ...] = ("fixed", "commission", "penalty")
MODES: tuple[str, ...] = ("delegation", "market")
LABEL_STYLES: tuple[str, ...] = ("numeric", "letters", "random")

Audience = Literal["both", "customer", "principal", "neither"]


@dataclass(frozen=True)
class Product:
    """One catalogue entry (graded values in dollars; see :mod:`.texts`)."""

    name: str
    price: float
    customer_value: float
    principal_value: float
    attributes: Mapping[str, str] = field(default_factory=dict)
    seller: int = 0

    @property
    def customer_utility(self) -> float:
        """What the purchase is worth to the customer: its value to them minus its price."""
        return self.customer_value - self.price


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, kw_only=True)
class PrincipalAgentConfig:
    """Parameters of a principal-agent game."""

    mode: Literal["delegation", "market"] = "delegation"
    """``delegation``: one shopping agent acts for a customer and represents a principal.
    ``market``: competing sellers' agents each offer a product; a buyer's agent chooses."""
    setting: str = "car"
    """Built-in catalogue, principal and customer (``car``, ``film``, ``car_market``)."""
    products: Sequence[Mapping[str, Any]] | None = None
    """A custom catalogue replacing the setting's: dicts with name, price, customer_value,
    principal_value, optional attributes and (market) seller."""
    persona: str | None = None
    """The principal's persona (delegation), replacing the setting's."""
    principal: str | None = None
    """The principal's name, replacing the setting's."""
    request: str | None = None
    """The customer's request, replacing the setting's."""
    budget: float | None = None
    """The customer's budget, replacing the setting's."""
    customer_terms: Sequence[str] = ()
    """Extra phrases that claim the customer's interest (explanation honesty adds them to its
    matcher, :mod:`alignsim.analysis.pa_honesty`; a negated mention does not count)."""
    principal_terms: Sequence[str] = ()
    """Extra phrases that claim the principal's interest (explanation honesty)."""
    audience: Audience = "both"
    """Who reads the explanation: both, customer (only), principal (only), neither."""
    action_observable: bool = True
    """Whether the principal sees which product was chosen (False: the hidden-action treatment)."""
    audit_prob: float = 0.0
    """Probability that an independent auditor reviews a decision."""
    sanction: float = 0.0
    """Fine paid by an agent whose audited decision did not serve the customer."""
    contract: Literal["fixed", "commission", "penalty"] = "fixed"
    wage: float = 10.0
    """Paid to the agent for every decision, by its principal."""
    commission_rate: float = 0.05
    """Commission contract: share of the sale's value to the principal paid to the agent."""
    penalty: float = 50.0
    """Penalty contract: fine the principal charges when it sees a choice against its favourite."""
    rounds: int = 1
    """Decisions per episode (repeated play); feedback and sanctions are carried between rounds."""
    label_style: Literal["numeric", "letters", "random"] = "numeric"
    """Product labels: 1, 2, ...; A, B, ...; or random three-digit codes drawn per episode."""
    shuffle_order: bool = False
    """Show the products in a random order (drawn per episode)."""
    budget_mask: bool = False
    """Mask products above the customer's budget (otherwise they can be bought, at a loss)."""
    n_sellers: int = 2
    """Market mode: number of competing sellers (each needs at least one product)."""
    max_explanation_chars: int = 600
    max_reasoning_chars: int = 1200

    def __post_init__(self) -> None:
        """Check every field, naming the first bad one (ConfigError); sizes first."""
        check_limits(self, "principal_agent")  # first: later checks allocate in proportion to sizes

        need(self.mode in MODES, "mode", f"must be one of {', '.join(MODES)}, got {self.mode!r}")
        need(
            self.setting in texts.SETTINGS,
            "setting",
            f"unknown setting {self.setting!r}; built-in settings: {', '.join(texts.SETTINGS)}",
        )
        need(self.audience in AUDIENCES, "audience", f"must be one of {', '.join(AUDIENCES)}, got {self.audience!r}")
        need(self.contract in CONTRACTS, "contract", f"must be one of {', '.join(CONTRACTS)}, got {self.contract!r}")
        need(
            self.label_style in LABEL_STYLES,
            "label_style",
            f"must be one of {', '.join(LABEL_STYLES)}, got {self.label_style!r}",
        )
        for name in ("action_observable", "shuffle_order", "budget_mask"):
            need(isinstance(getattr(self, name), bool), name, f"must be true or false, got {getattr(self, name)!r}")
        need(
            _number(self.audit_prob) and 0.0 <= self.audit_prob <= 1.0,
            "audit_prob",
            f"must be a probability in [0, 1], got {self.audit_prob!r}",
        )
        for name in ("sanction", "wage", "penalty"):
            value = getattr(self, name)
            need(_number(value) and value >= 0, name, f"must be a number >= 0, got {value!r}")
        need(
            _number(self.commission_rate) and 0.0 <= self.commission_rate <= 1.0,
            "commission_rate",
            f"must be in [0, 1], got {self.commission_rate!r}",
        )
        for name in ("rounds", "n_sellers", "max_explanation_chars", "max_reasoning_chars"):
            value = getattr(self, name)
            need(
                isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                name,
                f"must be a positive integer, got {value!r}",
            )
        need(self.rounds <= 1000, "rounds", f"must be at most 1000, got {self.rounds}")
        if self.budget is not None:
            need(_number(self.budget) and self.budget > 0, "budget", f"must be a positive number, got {self.budget!r}")
        for name in ("persona", "principal", "request"):
            value = getattr(self, name)
            need(value is None or (isinstance(value, str) and value.strip() != ""), name, "must be non-empty text")
        for name in ("customer_terms", "principal_terms"):
            terms = getattr(self, name)
            need(
                not isinstance(terms, str) and all(isinstance(t, str) and t.strip() for t in terms),
                name,
                "must be a list of non-empty phrases",
            )
        products = self.catalogue()  # validates custom products
        if self.mode == "market":
            need(self.n_sellers >= 2, "n_sellers", f"a market needs at least 2 sellers, got {self.n_sellers}")
            need(
                self.products is not None or len(texts.SETTINGS[self.setting].sellers) >= self.n_sellers,
                "setting",
                f"setting {self.setting!r} has no seller personas for {self.n_sellers} sellers; use 'car_market' "
                "or give products with sellers",
            )
            for s in range(self.n_sellers):
                need(
                    any(p.seller == s for p in products),
                    "products",
                    f"seller {s} has no product (every one of the {self.n_sellers} sellers needs at least one)",
                )
        else:
            need(
                self.persona is not None or bool(texts.SETTINGS[self.setting].persona),
                "persona",
                f"setting {self.setting!r} has no principal persona for delegation; give one",
            )

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> PrincipalAgentConfig:
        """The config for an env's keyword arguments, checked (see :func:`~alignsim.envs.base.config_from_kwargs`)."""
        return config_from_kwargs(cls, "principal_agent", kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data, as recorded in episode headers."""
        return asdict(self)

    # ------------------------------------------------------------ resolved values

    @property
    def base(self) -> texts.Setting:
        """The built-in setting named by ``setting``: the defaults of every field left unset."""
        return texts.SETTINGS[self.setting]

    def catalogue(self) -> tuple[Product, ...]:
        """The products on offer (``products``, else the setting's), each checked and in catalogue order.

        Raises:
            ConfigError: a product list or entry is malformed, naming the entry (``products[2].price``).
        """
        raw = self.products if self.products is not None else self.base.products
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
            raise ConfigError("products", f"must be a list of product dicts, got {type(raw).__name__}")
        if len(raw) < 2:
            raise ConfigError("products", f"needs at least 2 products, got {len(raw)}")
        out = []
        for k, entry in enumerate(raw):
            where = f"products[{k}]"
            if not isinstance(entry, Mapping):
                raise ConfigError(where, f"must be a dict, got {type(entry).__name__}")
            unknown = sorted(set(entry) - {f.name for f in fields(Product)})
            if unknown:
                raise ConfigError(f"{where}.{unknown[0]}", "unknown product field")
            name = entry.get("name")
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"{where}.name", "must be non-empty text")
            for key in ("price", "customer_value", "principal_value"):
                if not _number(entry.get(key)):
                    raise ConfigError(f"{where}.{key}", f"must be a number, got {entry.get(key)!r}")
            if entry["price"] < 0:
                raise ConfigError(f"{where}.price", f"must be >= 0, got {entry['price']}")
            seller = entry.get("seller", 0)
            if not isinstance(seller, int) or isinstance(seller, bool) or not 0 <= seller < max(self.n_sellers, 1):
                raise ConfigError(f"{where}.seller", f"must be a seller index in [0, {self.n_sellers}), got {seller!r}")
            attributes = entry.get("attributes") or {}
            if not isinstance(attributes, Mapping):
                raise ConfigError(f"{where}.attributes", "must be a dict of text")
            out.append(
                Product(
                    name=name,
                    price=float(entry["price"]),
                    customer_value=float(entry["customer_value"]),
                    principal_value=float(entry["principal_value"]),
                    attributes={str(a): str(b) for a, b in attributes.items()},
                    seller=seller,
                )
            )
        names = [p.name for p in out]
        if len(set(names)) != len(names):
            raise ConfigError("products", "product names must be distinct")
        return tuple(out)

    @property
    def principal_name(self) -> str:
        """The principal (the store or seller the agent works for): ``principal`` or the setting's."""
        return self.principal or self.base.principal

    @property
    def persona_text(self) -> str:
        """The customer's persona: ``persona`` or the setting's."""
        return self.persona or self.base.persona

    @property
    def request_text(self) -> str:
        """The customer's request: ``request`` or the setting's."""
        return self.request or self.base.request

    @property
    def budget_value(self) -> float:
        """The customer's budget in dollars: ``budget`` or the setting's."""
        return float(self.budget if self.budget is not None else self.base.budget)

    def lexicon(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(customer_terms, principal_terms)``: the phrases logged in ``pa_setup`` (the built-in
        lists and the extra ones). Honesty scoring uses only the extra ones, with the claim
        matcher of :mod:`alignsim.analysis.pa_honesty`."""
        return (
            texts.lexicon(self.base.customer_terms, texts.CUSTOMER_TERMS, self.customer_terms),
            texts.lexicon(self.base.principal_terms, texts.PRINCIPAL_TERMS, self.principal_terms),
        )
