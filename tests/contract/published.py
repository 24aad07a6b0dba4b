"""The JSON examples of the published API documents, as Python literals.

Copied from /work/shared/partnercenter-api.md ("api.md") and /work/shared/partnercenter-policies.md
("policies.md"); each literal names its section. Placeholders the documents write as `{c}` or `{customer-id}`
are filled with CUSTOMER (the customer of the one published Location, policies.md 4.6), `{tracking-id}` with a
made-up GUID; everything else is verbatim. Where a document gives a field list rather than a JSON example,
the literal is built from that list and says so.
"""

# policies.md 4.6, the published DevicePolicyUpdates answer: its customer and tracking id.
CUSTOMER = "c7f3c849-129f-4b85-a96d-4f8e88b315a3"
ASSIGN_TRACKING_ID = "a15f3996-620a-4404-9f1f-4c2de78de0de"

# ----- device batches ------------------------------------------------------------------------------------------

# api.md "Create a batch with devices": the request body (PascalCase; "<base64>" stands for a 4K hash).
CREATE_BATCH_REQUEST = {
    "BatchId": "contoso-2026-11",
    "Devices": [{"SerialNumber": "1R9-ZNP67", "ProductKey": "00329-00000-0003-AA606",
                 "HardwareHash": "<base64>", "Attributes": {"ObjectType": "Device"}}],
    "Attributes": {"ObjectType": "DeviceBatchCreationRequest"},
}
# api.md "Create a batch with devices": 202 Accepted, empty body, this Location (relative, no /v1).
CREATE_BATCH_LOCATION = "/customers/{customer-id}/batchJobStatus/{tracking-id}".replace(
    "{customer-id}", CUSTOMER).replace("{tracking-id}", "0127ed8e-2f0c-4d5a-9b1e-3c6d7e8f9a0b")

# api.md "List batches": the published DeviceBatch example ({c} filled in), in the collection wrapper the
# same section gives.
PUBLISHED_BATCH = {
    "id": "Test batch", "status": "finished", "creationDate": "2017-07-25T01:51:00", "devicesCount": 5,
    "devicesLink": {"uri": "/customers/%s/deviceBatches/Test batch/devices" % CUSTOMER, "method": "GET",
                    "headers": []},
    "attributes": {"objectType": "DeviceBatch"},
}
BATCH_LIST = {"totalCount": 1, "items": [PUBLISHED_BATCH], "attributes": {"objectType": "Collection"}}

# api.md "List batches": "The SDK model has createdBy and links.devices instead of devicesLink ... treat
# status/createdBy as optional". No JSON is published for it: built from that sentence, without status.
SDK_BATCH = {
    "id": "contoso-2026-11", "createdBy": "admin@contoso.onmicrosoft.com", "creationDate": "2017-07-25T01:51:00",
    "devicesCount": 2,
    "links": {"devices": {"uri": "/customers/%s/deviceBatches/contoso-2026-11/devices" % CUSTOMER,
                          "method": "GET", "headers": []}},
    "attributes": {"objectType": "DeviceBatch"},
}

# ----- devices of a batch --------------------------------------------------------------------------------------

# api.md "Devices" (the Device resource's fields) and policies.md 4.8 (each listed item carries
# "policies": [{"key": "o_o_b_e", "value": null}]; no hardwareHash in a listing). No whole item is published in
# these documents: the items are built from those field lists (serial numbers and product keys from api.md's
# examples, the service ids made up).
LISTED_DEVICE = {
    "id": "7c141ea9-2816-4e15-a819-53f6856499ff",
    "serialNumber": "1R9-ZNP67",
    "productKey": "00329-00000-0003-AA606",
    "modelName": "Precision WorkStation T7500",
    "oemManufacturerName": "Dell Inc.",
    "policies": [{"key": "o_o_b_e", "value": None}],
    "createdBy": "admin@contoso.onmicrosoft.com",
    "uploadedDate": "2017-08-09T14:43:26.0092288-07:00",
    "allowedOperations": ["delete"],
    "attributes": {"objectType": "Device"},
}
# policies.md 4.8: "After an assignment it should hold the policy id" (the id of policies.md 4.6's request).
ASSIGNED_POLICY_ID = "15a04610-9229-4e80-94e0-0e826a09c9e2"
LISTED_DEVICE_WITH_PROFILE = {
    "id": "e528a62f-5031-49f4-bea7-5fafe47388fd",
    "serialNumber": "1234567890",
    "productKey": "12345-67890-09876-54321-13579",
    "modelName": "HP Z420 Workstation",
    "oemManufacturerName": "Hewlett-Packard",
    "policies": [{"key": "o_o_b_e", "value": ASSIGNED_POLICY_ID}],
    "uploadedDate": "2017-08-09T14:35:51.3126144-07:00",
    "attributes": {"objectType": "Device"},
}
# api.md "List devices in a batch": the token comes as a top-level continuationToken and/or as
# links.next = {"uri", "method", "headers": [{"key": "MS-ContinuationToken", "value": "..."}]}.
DEVICES_PAGE_TOKEN = {"totalCount": 3, "items": [LISTED_DEVICE], "continuationToken": "token-page-2",
                      "attributes": {"objectType": "Collection"}}
DEVICES_PAGE_LINK = {
    "totalCount": 3, "items": [LISTED_DEVICE_WITH_PROFILE],
    "links": {"next": {"uri": "/customers/%s/deviceBatches/Test batch/devices" % CUSTOMER, "method": "GET",
                       "headers": [{"key": "MS-ContinuationToken", "value": "token-page-3"}]}},
    "attributes": {"objectType": "Collection"},
}
DEVICES_PAGE_LAST = {"totalCount": 3, "items": [dict(LISTED_DEVICE, id="5f0c2b1e-0000-4000-8000-000000000003",
                                                     serialNumber="3R9-ZNP67", productKey=None)],
                     "attributes": {"objectType": "Collection"}}

# ----- batch job status --------------------------------------------------------------------------------------

# api.md "Batch job status" (also policies.md 4.7): verbatim, including the elided tracking id.
JOB_STATUS = {
    "batchTrackingId": "0127ed8e-...", "status": "finished", "startedTime": "2017-07-25T10:00:00",
    "completedTime": "2017-07-25T10:10:00",
    "devicesStatus": [{"deviceId": None, "serialNumber": "1234567890",
                       "productKey": "12345-67890-09876-54321-13579",
                       "status": "finished_with_errors", "errorCode": "808",
                       "errorDescription": "ZtdDeviceAssignedToOtherTenant",
                       "attributes": {"objectType": "DeviceUploadDetails"}}],
    "attributes": {"objectType": "BatchUploadDetails"},
}
JOB_STATUSES = ("unknown", "queued", "processing", "finished", "finished_with_errors")  # api.md, same section
DEVICE_STATUSES = ("in-progress", "finished", "finished_with_errors")  # policies.md 4.7

# ----- errors and throttling ---------------------------------------------------------------------------------

# api.md "Errors, headers, throttling": the error body, and the common (status, code) pairs it lists.
ERROR_BODY = {"code": "...", "description": "...", "data": [], "source": "..."}
COMMON_ERRORS = (
    (401, "800001", "access denied / token missing"),
    (403, "20002", "no relationship with the customer"),
    (404, "60003", "tenant not found"),
    (400, "800002", "invalid input"),
    (500, "800003", "unexpected error"),
)
# api.md "Real-world behaviour": the guidance's throttling example.
THROTTLED_RETRY_AFTER = "57"
THROTTLED_BODY = {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds."}

# ----- configuration policies (Autopilot profiles) -----------------------------------------------------------

# policies.md 4.1: the list answer (cut to one item by the document itself).
POLICY_LIST = {
    "totalCount": 3,
    "items": [{
        "id": "8c7d25aa-2dbb-409c-a1f0-f55bd9108fa9",
        "name": "Windows 10 Enterprise E3",
        "category": "o_o_b_e",
        "description": "P462017 description",
        "devicesAssigned": 0,
        "policySettings": ["oobe_user_not_local_admin", "skip_express_settings"],
        "createdDate": "2017-04-27T11:30:34.1944704-07:00",
        "lastModifiedDate": "2017-04-27T11:30:34.1944704-07:00",
        "attributes": {"objectType": "ConfigurationPolicy"},
    }],
    "attributes": {"objectType": "Collection"},
}
# policies.md 4.3: the create request body and its 200 OK answer.
POLICY_CREATE_REQUEST = {
    "name": "Windows 10 Enterprise E5",
    "category": "o_o_b_e",
    "description": "test policy creation from API",
    "policySettings": ["oobe_user_not_local_admin", "skip_express_settings"],
}
POLICY_CREATE_RESPONSE = {
    "id": "40cdb858-edcc-44d7-9083-d6a36d43bd3f",
    "name": "Windows 10 Enterprise E5",
    "category": "o_o_b_e",
    "description": "test policy creation from API",
    "devicesAssigned": 0,
    "policySettings": ["oobe_user_not_local_admin", "skip_express_settings"],
    "createdDate": "2017-07-25T18:07:36",
    "lastModifiedDate": "2017-07-25T18:07:36",
    "attributes": {"objectType": "ConfigurationPolicy"},
}
# policies.md 4.4: the PUT body, and its table (field: (required, updatable)).
POLICY_UPDATE_REQUEST = {
    "id": "56edf752-ee77-4fd8-b7f5-df1f74a3a9ac",
    "name": "Windows test policy",
    "category": "o_o_b_e",
    "description": "Test policy creation from API",
    "devicesAssigned": 0,
    "policySettings": ["skip_express_settings"],
}
POLICY_UPDATE_FIELDS = {"id": (True, False), "name": (True, True), "category": (True, False),
                        "description": (False, True), "devicesAssigned": (False, False),
                        "policySettings": (True, True)}
# policies.md 4.4: "200 OK with the updated ConfigurationPolicy. In the example, createdDate is unchanged and
# lastModifiedDate moves forward." The answer itself is not reproduced there: built from the PUT body and that
# sentence.
POLICY_UPDATE_RESPONSE = dict(POLICY_UPDATE_REQUEST, createdDate="2017-07-25T18:07:36",
                              lastModifiedDate="2017-07-26T09:12:01",
                              attributes={"objectType": "ConfigurationPolicy"})
# policies.md 3: the resource tables, the REST reference and both SDKs name the count devicesAssignedCount.
POLICY_WITH_COUNT_NAME = dict((k, v) for k, v in POLICY_LIST["items"][0].items() if k != "devicesAssigned")
POLICY_WITH_COUNT_NAME["devicesAssignedCount"] = 4
# policies.md 2.2: the five settings besides "none".
POLICY_SETTINGS = ("remove_oem_preinstalls", "oobe_user_not_local_admin", "skip_express_settings",
                   "skip_oem_registration", "skip_eula")

# policies.md 4.6: the published DevicePolicyUpdates request (a .NET SDK trace, PascalCase) and its answer.
ASSIGN_REQUEST = {
    "Devices": [{
        "Id": "9993-8627-3608-6844-6369-4361-72",
        "SerialNumber": None,
        "ProductKey": None,
        "HardwareHash": None,
        "Policies": [{"Key": "o_o_b_e", "Value": "15a04610-9229-4e80-94e0-0e826a09c9e2"}],
        "CreatedBy": None,
        "UploadedDate": "0001-01-01T00:00:00",
        "AllowedOperations": None,
        "Attributes": {"ObjectType": "Device"},
    }],
    "Attributes": {"ObjectType": "DevicePolicyUpdateRequest"},
}
ASSIGN_LOCATION = "/customers/c7f3c849-129f-4b85-a96d-4f8e88b315a3/batchJobStatus/a15f3996-620a-4404-9f1f-4c2de78de0de"
