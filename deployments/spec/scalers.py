"""The autoscaler's and cron scaler's own rules, applied to a config by `validate_config`.

The model (spec/model.py) checks the shapes; the rules that need the autoscaling package
(known metrics, IANA time zones, 6-field schedules that fire, unique job names) come from
its pure parsers, so a config, the `/autoscaler` endpoint and the console share one set of
rules and messages. Pure: no Django.
"""

from deployments.autoscaling.cron import parse_cronscaler
from deployments.autoscaling.policy import parse_autoscaler
from deployments.spec.checks import Loc, format_path, user_loc

ZERO_WARNING = (
    "min 0 lets the autoscaler take the service to zero instances after {grace} s without traffic; "
    "Berth has no activator yet to hold requests while it wakes, so requests sent at zero fail (503) "
    "until an instance is ready"
)


def scaler_issues(data: dict, renames: dict[Loc, Loc], errors: list[dict]) -> tuple[list[dict], list[dict]]:
    """(errors, warnings) of the autoscaling rules, at the paths the user wrote.

    A key whose shape the model already refused (an error at or under its path in `errors`)
    is skipped, so one mistake is reported once, in the model's words.
    """
    found_errors: list[dict] = []
    warnings: list[dict] = []
    for key in ("autoscaler", "cronscaler"):
        if key not in data:
            continue
        at = user_loc((key,), renames)
        path = format_path(at)
        if any(e["path"] == path or e["path"].startswith((path + ".", path + "[")) for e in errors):
            continue
        if key == "autoscaler":
            parsed = parse_autoscaler(data[key], service_name=data.get("name"), at=at)
            found_errors += parsed.errors
            if parsed.policy is not None and parsed.policy.min == 0:
                message = ZERO_WARNING.format(grace=parsed.policy.zero_grace_period)
                warnings.append({"path": format_path((*at, "min")), "message": message})
        else:
            found_errors += parse_cronscaler(data[key], at=at).errors
    return found_errors, warnings
