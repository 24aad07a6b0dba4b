#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: partnercenter_consent
short_description: First-time consent of the secure application model, without PowerShell
version_added: 0.1.0
description:
  - An admin agent of the partner tenant signs in once, with multi-factor authentication, through the partner's
    Entra ID app (authorization code flow with PKCE, msal). The tokens that come back are written to
    O(token_cache_path), the cache the P(partnercenter.autopilot.partnercenter_auth#role) role,
    M(partnercenter.autopilot.partnercenter_token) and the other modules read, so later runs need no
    O(partnercenter.autopilot.partnercenter_token#module:refresh_token).
  - O(state=start) returns RV(authorization_url), the address to open in a browser. The flow's state (its PKCE
    verifier, nonce and state) is kept in O(flow_path), mode 0600, never in the result.
  - O(state=complete) takes the whole address the browser landed on after the sign-in (O(redirect_url)), checks
    its C(state), exchanges its code, writes the tokens to O(token_cache_path) (mode 0600) and removes
    O(flow_path). It returns the signed-in account and when the access token expires, never a token.
  - Runs on the controller (an action plugin). C(playbooks/consent.yml) runs both steps and prompts for the
    address.
author:
  - partnercenter.autopilot maintainers (@partnercenter-autopilot)
extends_documentation_fragment:
  - partnercenter.autopilot.connection
attributes:
  check_mode:
    support: none
    description: A sign-in cannot be rehearsed; the task is skipped in check mode.
  diff_mode:
    support: none
    description: Nothing to compare.
options:
  state:
    description:
      - V(start) begins a sign-in and returns the address to open; V(complete) finishes it with O(redirect_url).
    type: str
    required: true
    choices: [start, complete]
  tenant_id:
    description:
      - The partner's Entra ID tenant id (GUID).
      - Falls back to E(PARTNERCENTER_TENANT_ID).
    type: str
  client_id:
    description:
      - Application (client) id of the partner's Entra ID app registration.
      - Falls back to E(PARTNERCENTER_CLIENT_ID).
    type: str
  client_secret:
    description:
      - Client secret of the app registration. Give this or O(client_certificate_path).
      - Falls back to E(PARTNERCENTER_CLIENT_SECRET).
    type: str
  client_certificate_path:
    description:
      - PEM file holding the app's private key (and usually its certificate), used instead of a secret.
      - Falls back to E(PARTNERCENTER_CLIENT_CERTIFICATE_PATH).
    type: path
  client_certificate_thumbprint:
    description:
      - SHA-1 thumbprint of the certificate as Entra ID shows it; needed when the PEM file holds no certificate.
      - Falls back to E(PARTNERCENTER_CLIENT_CERTIFICATE_THUMBPRINT).
    type: str
  authority:
    description:
      - Entra ID authority host; the tenant id is appended.
      - Falls back to E(PARTNERCENTER_AUTHORITY).
    type: str
    default: https://login.microsoftonline.com
  token_cache_path:
    description:
      - msal token cache file the tokens are written to (mode 0600, its directory made 0700 when missing). It
        then holds this sign-in only.
      - Give later runs the same file (E(PARTNERCENTER_TOKEN_CACHE_PATH), or the role's
        C(partnercenter_token_cache_path)); they use its access token while it is valid, else its refresh token,
        and keep the rotated one there.
      - Required for both states. Falls back to E(PARTNERCENTER_TOKEN_CACHE_PATH).
    type: path
  redirect_uri:
    description:
      - Where Entra ID sends the browser after the sign-in. It must be one of the app registration's Web
        redirect URIs. Nothing has to listen there; the page may not load, its address is what counts.
      - Used by O(state=start); O(state=complete) uses the one of the flow.
    type: str
    default: http://localhost
  scopes:
    description:
      - Delegated permissions to consent to. msal adds C(openid), C(profile) and C(offline_access) (for the
        refresh token) itself.
    type: list
    elements: str
    default: ["https://api.partnercenter.microsoft.com/user_impersonation"]
  flow_path:
    description:
      - File that keeps the sign-in between O(state=start) and O(state=complete) (mode 0600), with its PKCE verifier,
        nonce and state. Removed when the sign-in completes or is found expired.
      - Defaults to O(token_cache_path) with C(.consent-flow.json) appended.
    type: path
  flow_timeout:
    description:
      - Seconds from O(state=start) within which O(state=complete) must follow, from 1 to 86400. A later
        O(state=complete) fails, removes the flow, and asks for a new start.
    type: int
    default: 900
  redirect_url:
    description:
      - The whole address the browser landed on after the sign-in (it holds C(code) and C(state)). Required with
        O(state=complete). It carries the authorization code, so give it from a prompt with C(echo=false) or a
        vaulted variable, not on the command line.
    type: str
notes:
  - This module is deliberately not in the C(partnercenter) action group, for the reason
    M(partnercenter.autopilot.partnercenter_token) is not; it produces the credentials from which the token the
    group's defaults pass on is obtained, and those defaults (C(access_token), C(base_url)) are not its options.
  - 'The app registration needs: a Web redirect URI equal to O(redirect_uri) (V(http://localhost) by default);
    a client secret or certificate; the delegated permission C(user_impersonation) of Microsoft Partner Center
    (C(https://api.partnercenter.microsoft.com)), with admin consent. The person signing in is an admin agent of
    the partner tenant and signs in with multi-factor authentication.'
  - The flow file holds the PKCE verifier; the authorization code and the tokens are never returned or logged.
    Refresh tokens rotate and expire after 90 days unused; run the consent again when a run says so.
seealso:
  - module: partnercenter.autopilot.partnercenter_token
  - name: Secure application model
    description: Microsoft's description of the consent this module performs.
    link: https://learn.microsoft.com/en-us/partner-center/developer/enable-secure-app-model
'''

EXAMPLES = r'''
- name: Start the sign-in; the flow is kept beside the token cache (mode 0600)
  partnercenter.autopilot.partnercenter_consent:
    state: start
    tenant_id: "{{ vault_partner_tenant_id }}"
    client_id: "{{ vault_app_id }}"
    client_secret: "{{ vault_app_secret }}"
    token_cache_path: ~/.cache/partnercenter/token-cache.json
  register: consent

- name: Show the address an admin agent opens in a browser
  ansible.builtin.debug:
    msg: "Sign in as an admin agent of the partner tenant (with MFA): {{ consent.authorization_url }}"

- name: Ask for the address the browser landed on (it holds the code, so it is not echoed)
  ansible.builtin.pause:
    prompt: Paste the whole address the browser landed on after signing in
    echo: false
  register: landed
  no_log: true
  when: consent_redirect_url is not defined

- name: Exchange the code; the tokens go to the token cache
  partnercenter.autopilot.partnercenter_consent:
    state: complete
    tenant_id: "{{ vault_partner_tenant_id }}"
    client_id: "{{ vault_app_id }}"
    client_secret: "{{ vault_app_secret }}"
    token_cache_path: ~/.cache/partnercenter/token-cache.json
    redirect_url: "{{ consent_redirect_url | default(landed.user_input) }}"
  register: signed_in

- name: Later runs read the token cache; no refresh token is needed
  partnercenter.autopilot.partnercenter_token:
    tenant_id: "{{ vault_partner_tenant_id }}"
    client_id: "{{ vault_app_id }}"
    client_secret: "{{ vault_app_secret }}"
    token_cache_path: ~/.cache/partnercenter/token-cache.json
  register: pc_token
  no_log: true
'''

RETURN = r'''
authorization_url:
  description: The address to open in a browser, where an admin agent signs in. Holds no secret.
  returned: O(state=start)
  type: str
redirect_uri:
  description: Where the browser will land after the sign-in.
  returned: O(state=start)
  type: str
  sample: http://localhost
flow_path:
  description: The file that keeps the sign-in until O(state=complete) (mode 0600).
  returned: O(state=start)
  type: str
flow_expires_on:
  description: When the sign-in expires unless completed (UTC, ISO 8601).
  returned: O(state=start)
  type: str
  sample: "2026-11-27T10:15:00Z"
username:
  description: The signed-in admin agent (the ID token's C(preferred_username)).
  returned: O(state=complete)
  type: str
  sample: admin@partner.example
tenant_id:
  description: The tenant of the signed-in account (the ID token's C(tid)).
  returned: O(state=complete)
  type: str
expires_on:
  description: When the access token in the cache expires (UTC, ISO 8601). Later runs then use the refresh token.
  returned: O(state=complete)
  type: str
  sample: "2026-11-27T11:00:00Z"
expires_in:
  description: Seconds the access token was valid for when issued.
  returned: O(state=complete)
  type: int
token_cache_path:
  description: The token cache written (mode 0600), the file later runs read.
  returned: O(state=complete)
  type: str
'''

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import USER_SCOPE
from ansible_collections.partnercenter.autopilot.plugins.module_utils.consent import FLOW_TIMEOUT, REDIRECT_URI, consent
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import (
    AUTH_SPEC, CONNECTION_SPEC, PartnerCenterModule, copy_spec)

# The action plugin of the same name validates with this spec too.
CONSENT_SPEC = copy_spec(
    CONNECTION_SPEC,
    dict((name, AUTH_SPEC[name]) for name in ("tenant_id", "client_id", "client_secret", "client_certificate_path",
                                              "client_certificate_thumbprint", "authority", "token_cache_path")),
    dict(state=dict(type="str", required=True, choices=["start", "complete"]),
         redirect_uri=dict(type="str", default=REDIRECT_URI),
         scopes=dict(type="list", elements="str", default=[USER_SCOPE]),
         flow_path=dict(type="path"),
         flow_timeout=dict(type="int", default=FLOW_TIMEOUT),
         redirect_url=dict(type="str", no_log=True)))


def main():
    # The collection's action plugin of the same name runs the consent on the controller instead of this code,
    # so the client secret and the redirect address never become module arguments; this stays so the module
    # also works where action plugins are bypassed.
    module = PartnerCenterModule(argument_spec=CONSENT_SPEC, api=False, shared=(), supports_check_mode=False)
    module.check_libraries(need_msal=True)
    with module.errors():
        result = consent(module.params)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
