"""``Webservice.run``: one scoring request to a service's scoring URI, as v1's SDK sends it."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from modelport.errors import UserError, WebserviceException
from modelport.sdk._service_tls import verify_for

if TYPE_CHECKING:
    from modelport.sdk.webservice import Webservice


def score(service: Webservice, input_data: Any) -> Any:
    """POST ``input_data`` to the scoring URI; on 401 fetch a key or a token and retry once."""
    if service.state == "Transitioning" and service._operation_id is not None:
        # v1's local services wait for a deployment in progress before scoring.
        with contextlib.suppress(WebserviceException):
            service.wait_for_deployment()
    if not service.scoring_uri:
        service.update_deployment_state()
    if not service.scoring_uri:
        raise UserError(
            f"Service {service.name} has no scoring URI (state {service.state}): wait for it to "
            "be Healthy (service.wait_for_deployment())."
        )
    if isinstance(input_data, str | bytes):
        content: Any = input_data
    else:
        content = json.dumps(input_data)
    headers = {"Content-Type": "application/json"}
    verify = verify_for(service.scoring_uri, service._ssl_certificate)
    import httpx  # here: `modelport service list` loads this module and never scores

    with httpx.Client(timeout=httpx.Timeout(300.0, connect=5.0), verify=verify) as http:
        response = http.post(service.scoring_uri, content=content, headers=headers)
        if response.status_code == 401:
            headers["Authorization"] = f"Bearer {service._credential()}"
            response = http.post(service.scoring_uri, content=content, headers=headers)
    if response.status_code == 200:
        try:
            return response.json()
        except ValueError:
            return response.text
    raise WebserviceException(
        "Received bad response from service. More information can be found by calling "
        f".get_logs() on the webservice object.\nResponse Code: {response.status_code}\n"
        f"Headers: {dict(response.headers)}\nContent: {response.content!r}",
        state=service.state,
    )
