# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Where Partner Center and Entra ID are, and how to reach them: for every module that makes requests."""

    # TLS and timeouts, for Partner Center and the token endpoint alike (partnercenter_token uses only these).
    DOCUMENTATION = r'''
options:
  ca_path:
    description:
      - CA bundle that signs the server certificates, for a private CA or TLS inspection proxy.
      - It takes precedence over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE).
      - Falls back to E(PARTNERCENTER_CA_PATH).
    type: path
  validate_certs:
    description:
      - Whether TLS certificates are verified. Turn off only for testing; a warning is shown.
      - Falls back to E(PARTNERCENTER_VALIDATE_CERTS).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for one HTTP response, from 1 to 3600.
      - Falls back to E(PARTNERCENTER_TIMEOUT).
    type: int
    default: 60
requirements:
  - requests
'''

    # The Partner Center API endpoint, for the modules that call it.
    BASE_URL = r'''
options:
  base_url:
    description:
      - Partner Center REST API endpoint.
      - Falls back to E(PARTNERCENTER_BASE_URL).
    type: str
    default: https://api.partnercenter.microsoft.com
'''
