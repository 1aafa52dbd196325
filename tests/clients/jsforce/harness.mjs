// Drives mock_sf with jsforce as an integration would, and prints what each call returned
// as one JSON object for tests/mock_sf/test_jsforce.py to check.
// Usage: node harness.mjs <instanceUrl> <accessToken>
import jsforce from 'jsforce';

const [instanceUrl, accessToken] = process.argv.slice(2);
const conn = new jsforce.Connection({ instanceUrl, accessToken, version: '60.0' });
const cases = conn.sobject('Case');
const seen = {};

const created = await cases.create([{ Subject: 'Jsforce clicker' }, { Subject: 'x'.repeat(256) }]);
seen.created = created;
const id = created[0].id;
seen.updated = await cases.update([{ Id: id, Priority: 'High' }]);
const [second] = await cases.create([{ Subject: 'Jsforce lectern' }]);
seen.retrieved = await cases.retrieve([id, second.id]);
seen.upsertCreated = await cases.upsert(
  { Portal_Request_Id__c: 'js-1', Subject: 'Jsforce upsert' },
  'Portal_Request_Id__c',
);
seen.upsertUpdated = await cases.upsert(
  { Portal_Request_Id__c: 'JS-1', Priority: 'Low' },
  'Portal_Request_Id__c',
);
seen.limits = await conn.limits();
seen.search = await conn.search('FIND {jsforce} RETURNING Case(Subject ORDER BY Subject)');
seen.composite = await conn.request({
  method: 'POST',
  url: '/services/data/v60.0/composite',
  body: JSON.stringify({
    allOrNone: true,
    compositeRequest: [
      {
        method: 'POST',
        url: '/services/data/v60.0/sobjects/Case',
        referenceId: 'newCase',
        body: { Subject: 'Jsforce composite' },
      },
      {
        method: 'POST',
        url: '/services/data/v60.0/sobjects/CaseComment',
        referenceId: 'newComment',
        body: { ParentId: '@{newCase.id}', CommentBody: 'from jsforce' },
      },
    ],
  }),
  headers: { 'Content-Type': 'application/json' },
});
seen.query = await conn.query(
  "SELECT Subject, Priority FROM Case WHERE Subject LIKE 'Jsforce%' ORDER BY Subject",
);
seen.destroyed = await cases.destroy([second.id]);
try {
  await cases.retrieve('500000000000001AAA');
} catch (error) {
  seen.notFound = { errorCode: error.errorCode, message: error.message };
}
process.stdout.write(JSON.stringify(seen));
