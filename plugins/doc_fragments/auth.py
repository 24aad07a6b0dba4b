# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """How to authenticate: the secure application model's credentials, or a token obtained before."""

    # Credentials that obtain a token through msal (partnercenter_token uses only these).
    DOCUMENTATION = r'''
options:
  tenant_id:
    description:
      - The partner's Entra ID tenant id (GUID) used to obtain a token.
      - Falls back to the E(PARTNERCENTER_TENANT_ID) environment variable.
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
      - SHA-1 thumbprint of the certificate as Entra ID shows it. Needed when the PEM file holds no
        certificate; without it the SHA-256 thumbprint is computed from the certificate.
      - Falls back to E(PARTNERCENTER_CLIENT_CERTIFICATE_THUMBPRINT).
    type: str
  refresh_token:
    description:
      - Refresh token of an admin agent obtained once through the secure application model (App+User).
      - Refresh tokens rotate and expire after 90 days unused; use O(token_cache_path) to keep the rotated one.
      - Falls back to E(PARTNERCENTER_REFRESH_TOKEN).
      - A refresh token Entra ID refuses is named by where it came from (this option, E(PARTNERCENTER_REFRESH_TOKEN),
        or the O(token_cache_path) file), never shown; so are a refused O(client_secret), certificate,
        O(client_id) and O(tenant_id).
    type: str
  auth_flow:
    description:
      - V(refresh_token) obtains an App+User token (required to create device batches).
      - V(client_credentials) obtains an app-only token, which Partner Center accepts for reads.
      - Falls back to E(PARTNERCENTER_AUTH_FLOW).
    type: str
    choices: [refresh_token, client_credentials]
    default: refresh_token
  authority:
    description:
      - Entra ID authority host; the tenant id is appended.
      - Falls back to E(PARTNERCENTER_AUTHORITY).
    type: str
    default: https://login.microsoftonline.com
  token_cache_path:
    description:
      - msal token cache file (written with mode 0600). It keeps the rotated refresh token and a still valid
        access token between runs.
      - Its refresh token is tried before O(refresh_token). When Entra ID refuses it (expired, revoked, or rotated
        by another copy of the file), the error names the file; running C(playbooks/consent.yml) again with it
        signs in anew.
      - Falls back to E(PARTNERCENTER_TOKEN_CACHE_PATH).
    type: path
requirements:
  - msal
'''

    # A token obtained before, and the secrets hand-over, for the modules that call Partner Center.
    ACCESS_TOKEN = r'''
options:
  access_token:
    description:
      - A Partner Center access token, as set by the P(partnercenter.autopilot.partnercenter_auth#role) role
        in the C(partnercenter_access_token) fact. When given, the other authentication options are not used.
      - Falls back to E(PARTNERCENTER_ACCESS_TOKEN).
    type: str
  secrets_file:
    description:
      - Path of a JSON file holding any of O(access_token), O(client_secret) and O(refresh_token).
      - The collection's action plugins write it (mode 0600, in the task's private temporary directory, removed
        afterwards) so that secrets never appear among module arguments, which Ansible prints with
        E(ANSIBLE_DEBUG) whatever C(no_log) says. There is no need to set it yourself.
    type: path
'''
