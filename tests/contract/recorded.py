"""The answers recorded in Partner-Center-PowerShell's SessionRecords, as Python literals.

Source: github.com/microsoft/Partner-Center-PowerShell, test/PowerShell.Tests/SessionRecords/, at commit
35df4df4fd4ded893daa2cdbf01a9d35daf879da ("Initial Commit", 2018-08-10). The four records used here are
unchanged up to 7cb1efb (2018-09-20) and were deleted in e8ae392 (2019-01-30); the newest commit of the
snapshot read (8fbf334, 2021-02-11) holds recordings of /offers and /countryvalidationrules only.

What a record is: the JSON body of one answer, and nothing else. PowerShell.Tests' CustomerTests.cs hands each
file to Moq as the return value of an SDK call (OperationFactory.GetResource<T>(name) deserialises
SessionRecords/{name}.json into the SDK model). So no record holds the request, the status line or any header
(no Location, no MS-RequestId): RECORDS' "status" and "headers" say so (None / {}), and the tests replay each
body as the 200 answer a GET gets (partnercenter-api.md). The request each record stands for is the SDK call
its mock setup names (written beside it) and the REST path partnercenter-api.md gives for that call.

No record at that commit or later touches batchJobStatus, DevicePolicyUpdates, POST /deviceBatches, or
/v1/customers: the module had no cmdlet for the first two then, and the customer answers of those tests are C#
object initialisers (OperationFactory.GetCustomer / GetCustomers), transcribed at the end of this file for the
customer issue, marked as such. The shapes issue 24 asks for that no record holds are in the last section,
each naming where it comes from instead.

Bodies are verbatim (ids, dates, spellings, absent fields) except the UTF-8 byte-order mark two files start
with (an artefact of the file, not of an answer).
"""

REPOSITORY = "microsoft/Partner-Center-PowerShell"
COMMIT = "35df4df4fd4ded893daa2cdbf01a9d35daf879da"
RECORDS_DIR = "test/PowerShell.Tests/SessionRecords"

# The customer the records were made for: $ContosoCustomerId in CustomerTests.ps1, and the customer the batch
# record's devicesLink names.
CUSTOMER = "46a62ece-10ad-42e5-b3f1-b2ed53e6fc08"


def _record(name, sdk_call, method, path, body):
    return {"record": "%s/%s.json" % (RECORDS_DIR, name), "repository": REPOSITORY, "commit": COMMIT,
            "sdk_call": sdk_call, "method": method, "path": path,
            "status": None,   # not recorded (the record is a body only)
            "headers": {},    # not recorded: no Location, MS-RequestId, MS-CorrelationId
            "body": body}


# ----- device batches ------------------------------------------------------------------------------------------

# GetCustomerDeviceBatch.json: no "status", no "createdBy", creationDate is .NET's DateTime.MinValue, devicesLink
# relative and without /v1. Mock of Customers[id].DeviceBatches.Get() (Get-PartnerCustomerDeviceBatch).
DEVICE_BATCHES = _record(
    "GetCustomerDeviceBatch", "Customers[customerId].DeviceBatches.Get()",
    "GET", "/v1/customers/%s/deviceBatches" % CUSTOMER,
    {
        "totalCount": 1,
        "items": [
            {
                "id": "Testing1",
                "creationDate": "0001-01-01T00:00:00",
                "devicesCount": 1,
                "devicesLink": {
                    "uri": "/customers/46a62ece-10ad-42e5-b3f1-b2ed53e6fc08/deviceBatches/Testing1/devices",
                    "method": "GET",
                    "headers": [],
                },
                "attributes": {"objectType": "DeviceBatch"},
            }
        ],
        "attributes": {"objectType": "Collection"},
    })
RECORDED_BATCH = DEVICE_BATCHES["body"]["items"][0]
BATCH_ID = RECORDED_BATCH["id"]  # "Testing1": CustomerTests.ps1 lists its devices as $DeviceBatch[0].BatchId

# ----- devices of a batch --------------------------------------------------------------------------------------

# GetCustomerDevice.json: the o_o_b_e policy value is the profile's NAME ("DefaultRoaming", the name of the
# profile in GetCustomerConfigurationPolicyById.json), not its id; no hardwareHash, createdBy or
# allowedOperations; "links" is an empty object. Mock of Customers[id].DeviceBatches[batchId].Devices.Get() and
# ...DeviceBatches.ById(batchId).Devices.Get() (Get-PartnerCustomerDevice -BatchId Testing1).
BATCH_DEVICES = _record(
    "GetCustomerDevice", "Customers[customerId].DeviceBatches[batchId].Devices.Get()",
    "GET", "/v1/customers/%s/deviceBatches/%s/devices" % (CUSTOMER, BATCH_ID),
    {
        "totalCount": 1,
        "items": [
            {
                "id": "9a2b05d1-2f89-4688-9768-c104e76626a8",
                "serialNumber": "R9-ZNP74",
                "productKey": "00329-00000-0003-AA613",
                "modelName": "Surface 7",
                "oemManufacturerName": "Microsoft",
                "policies": [{"key": "o_o_b_e", "value": "DefaultRoaming"}],
                "uploadedDate": "2018-07-24T15:03:40.3184992-07:00",
                "attributes": {"objectType": "Device"},
            }
        ],
        "links": {},
        "attributes": {"objectType": "Collection"},
    })
RECORDED_DEVICE = BATCH_DEVICES["body"]["items"][0]

# ----- configuration policies (Autopilot profiles) -------------------------------------------------------------

# GetCustomerConfigurationPolicies.json: three policies, the count spelled devicesAssigned. Its first item is
# the published "Get a list of policies" example item (published.POLICY_LIST), its second carries the id of the
# published PUT example (policies.md 4.4): at least this record is the documentation's answer, not a capture.
# Mock of Customers[id].ConfigurationPolicies.Get() (Get-PartnerCustomerConfigurationPolicy).
POLICIES = _record(
    "GetCustomerConfigurationPolicies", "Customers[customerId].ConfigurationPolicies.Get()",
    "GET", "/v1/customers/%s/policies" % CUSTOMER,
    {
        "totalCount": 3,
        "items": [
            {
                "id": "8c7d25aa-2dbb-409c-a1f0-f55bd9108fa9",
                "name": "Windows 10 Enterprise E3",
                "category": "o_o_b_e",
                "description": "P462017 description",
                "devicesAssigned": 0,
                "policySettings": ["oobe_user_not_local_admin", "skip_express_settings"],
                "createdDate": "2017-04-27T11:30:34.1944704-07:00",
                "lastModifiedDate": "2017-04-27T11:30:34.1944704-07:00",
                "attributes": {"objectType": "ConfigurationPolicy"},
            },
            {
                "id": "56edf752-ee77-4fd8-b7f5-df1f74a3a9ac",
                "name": "Test policy",
                "category": "o_o_b_e",
                "description": "Test policy creation from API 1",
                "devicesAssigned": 0,
                "policySettings": ["skip_express_settings"],
                "createdDate": "2017-07-25T11:03:03.8457088-07:00",
                "lastModifiedDate": "2017-07-25T11:04:00.8150016-07:00",
                "attributes": {"objectType": "ConfigurationPolicy"},
            },
            {
                "id": "a96b5fd9-0f3a-419a-b55c-a8aecd6b1f00",
                "name": "Windows 10 Enterprise E5",
                "category": "o_o_b_e",
                "description": "test policy creation from API",
                "devicesAssigned": 0,
                "policySettings": ["oobe_user_not_local_admin", "skip_express_settings"],
                "createdDate": "2017-07-25T11:07:36.1501184-07:00",
                "lastModifiedDate": "2017-07-25T11:07:36.1501184-07:00",
                "attributes": {"objectType": "ConfigurationPolicy"},
            },
        ],
        "attributes": {"objectType": "Collection"},
    })

# GetCustomerConfigurationPolicyById.json: the profile "DefaultRoaming" (id a GUID), the count spelled
# devicesAssignedCount (while the list record spells it devicesAssigned), one device assigned. The mocks return it
# for Customers[id].ConfigurationPolicies[policyId].Get() (any policyId: CustomerTests.ps1 asks for 56edf752-...),
# for ...ConfigurationPolicies[policyId].Patch(policy) (Set-PartnerCustomerConfigurationPolicy; the SDK's Patch
# sends PUT /policies/{id}, policies.md 4.4) and for ...ConfigurationPolicies.Create(policy)
# (New-PartnerCustomerConfigurationPolicy, POST /policies).
POLICY_BY_ID = _record(
    "GetCustomerConfigurationPolicyById", "Customers[customerId].ConfigurationPolicies[policyId].Get()",
    "GET", "/v1/customers/%s/policies/{policy-id}" % CUSTOMER,
    {
        "id": "d57870f4-8465-48d5-8e57-a1e6d47894d0",
        "name": "DefaultRoaming",
        "category": "o_o_b_e",
        "description": "Roaming",
        "devicesAssignedCount": 1,
        "policySettings": ["skip_express_settings", "skip_eula"],
        "createdDate": "2018-07-24T15:03:28.5483557-07:00",
        "lastModifiedDate": "2018-07-24T15:03:28.5483557-07:00",
        "attributes": {"objectType": "ConfigurationPolicy"},
    })
# The same body answers the mocked create (POST) and update (PUT, the SDK's Patch) in CustomerTests.cs.
POLICY_WRITE_ANSWERS = (("POST", "/v1/customers/%s/policies" % CUSTOMER),
                        ("PUT", "/v1/customers/%s/policies/%s" % (CUSTOMER, POLICY_BY_ID["body"]["id"])))

RECORDS = (DEVICE_BATCHES, BATCH_DEVICES, POLICIES, POLICY_BY_ID)

# ----- customers: NOT recorded (C# object initialisers of the same commit, for the customer issue) -------------

# test/PowerShell.Tests/Factories/OperationFactory.cs at COMMIT: GetCustomer() is what the mocks of
# Customers[id].Get() and Customers.ById(id).Get() return; GetCustomers() (a SeekBasedResourceCollection of two)
# what Customers.Get() returns. Only the properties the initialisers set, in the SDK's camelCase JSON names; no
# continuation token, links, attributes or relationshipToPartner are set, so none is shown.
CUSTOMERS_SOURCE = {"repository": REPOSITORY, "commit": COMMIT,
                    "file": "test/PowerShell.Tests/Factories/OperationFactory.cs", "recorded": False}
FIXTURE_CUSTOMER = {
    "id": "46a62ece-10ad-42e5-b3f1-b2ed53e6fc08",
    "companyProfile": {"companyName": "Contoso", "domain": "contoso.onmicrosoft.com"},
    "billingProfile": {"defaultAddress": {"addressLine1": "1 Microsoft Way", "city": "Redmond", "country": "US",
                                          "postalCode": "98052", "state": "WA"}},
}
FIXTURE_CUSTOMERS = {
    "totalCount": 2,
    "items": [
        FIXTURE_CUSTOMER,
        {
            "id": "f28ec9a4-fbb6-43e2-a634-c4e0bbb44842",
            "companyProfile": {"companyName": "TailSpin Toys", "domain": "tailspintoys.onmicrosoft.com"},
            "billingProfile": {"defaultAddress": {"addressLine1": "700 Bellevue Way NE", "city": "Redmond",
                                                  "country": "US", "postalCode": "98004", "state": "WA"}},
        },
    ],
}

# ----- NOT recorded: shapes issue 24 asks the reader to accept, each with its source ---------------------------
# Built on the recorded ids above so the tests stay in the recorded customer's world.

# partnercenter-api.md "Recorded answers": links.next "carries a URI with its own query (?seekOperation=Next) and
# headers: follow it as given". No record holds a links.next; the page is the recorded listing plus that link.
SEEK_TOKEN = "seek-token-page-2"
DEVICES_PAGE_WITH_SEEK_NEXT = dict(BATCH_DEVICES["body"], links={"next": {
    "uri": "/customers/%s/deviceBatches/%s/devices?seekOperation=Next" % (CUSTOMER, BATCH_ID),
    "method": "GET",
    "headers": [{"key": "MS-ContinuationToken", "value": SEEK_TOKEN}]}})
# Issue 24 ("an offset-style next link stops after page 1"): a next link that pages by its query alone, with no
# continuation header. No record or published example of the device listing holds one; the query is made up.
DEVICES_PAGE_WITH_OFFSET_NEXT = dict(BATCH_DEVICES["body"], links={"next": {
    "uri": "/customers/%s/deviceBatches/%s/devices?size=1&offset=1" % (CUSTOMER, BATCH_ID),
    "method": "GET",
    "headers": []}})
SECOND_DEVICE = dict(RECORDED_DEVICE, id="5d1c0b3a-0000-4000-8000-000000000002", serialNumber="R9-ZNP75",
                     productKey=None)  # made up: the device of page 2
DEVICES_LAST_PAGE = dict(BATCH_DEVICES["body"], items=[SECOND_DEVICE])

# Issue 24 and partnercenter-api.md "Batch job status" / "Per-device outcomes": the .NET SDK's enum converter
# reads PascalCase (DeviceUploadStatusType: Unknown, Queued, Processing, Finished, FinishedWithErrors); 806 and 808
# may come without errorDescription ("either may be missing or null"). No batchJobStatus is recorded: the body is
# the published example's shape (published.JOB_STATUS) with the recorded device.
TRACKING_ID = "0127ed8e-2f0c-4d5a-9b1e-3c6d7e8f9a0b"  # published.CREATE_BATCH_LOCATION's, made up there
PASCAL_CASE_STATUSES = (("Unknown", "unknown"), ("Queued", "queued"), ("Processing", "processing"),
                        ("Finished", "finished"), ("FinishedWithErrors", "finished_with_errors"))


def job_status(status, devices_status):
    return {"batchTrackingId": TRACKING_ID, "status": status, "startedTime": "2018-07-24T15:03:40",
            "completedTime": "2018-07-24T15:04:10", "devicesStatus": devices_status,
            "attributes": {"objectType": "BatchUploadDetails"}}


def device_result(status, error_code, **extra):
    item = {"deviceId": None, "serialNumber": RECORDED_DEVICE["serialNumber"],
            "productKey": RECORDED_DEVICE["productKey"], "status": status, "errorCode": error_code,
            "attributes": {"objectType": "DeviceUploadDetails"}}
    item.update(extra)
    return item


# partnercenter-api.md "Real-world behaviour": the throttling guidance's 429 body and Retry-After.
THROTTLED_BODY = {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds."}
THROTTLED_HEADERS = {"Retry-After": "57"}
