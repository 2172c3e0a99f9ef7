// The policy evaluator behind localrun/iam.py: one long-lived process that reads one JSON request per line on
// stdin and writes one JSON answer per line on stdout, in order. It evaluates with @cloud-copilot/iam-simulate
// (pinned in package.json); localrun/iam.py caches the answers, so each distinct request is evaluated once.
//
// {"op": "load", "policies": {"name": {policy document}, ...}}            -> {"ok": true}
// {"op": "check", "principal": "arn:aws:sts::...:assumed-role/R/S", "action": "dynamodb:PutItem",
//  "resource": "arn:...", "account": "123456789012", "identity": ["name", ...], "boundary": ["name", ...],
//  "resourcePolicy": "name" | null, "context": {"aws:SecureTransport": "true", ...}}
//   -> {"result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied", "denials": [...]} or {"error": "..."}
import { createInterface } from 'node:readline'
import { createValidatedPolicy } from '@cloud-copilot/iam-policy'
import { getDenialReasons, runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

const policies = new Map()

function named(names) {
  return (names || []).map((name) => {
    if (!policies.has(name)) throw new Error(`policy ${name} was never loaded`)
    return { name, policy: policies.get(name) }
  })
}

// runUnsafeSimulation loads a resource policy without the name it reports denials by; a policy handed over as
// already validated keeps its name (iam-policy's loadPolicy reads it from there).
function unvalidated(simulation, request) {
  if (!simulation.resourcePolicy) return simulation
  const name = request.resourcePolicy
  return { ...simulation, resourcePolicy: createValidatedPolicy(simulation.resourcePolicy, () => [], { name }) }
}

async function check(request) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.account },
      contextVariables: request.context || {}
    },
    identityPolicies: named(request.identity),
    permissionBoundaryPolicies: request.boundary && request.boundary.length ? named(request.boundary) : undefined,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy ? policies.get(request.resourcePolicy) : undefined
  }
  const answer = await runSimulation(simulation, {})
  if (answer.resultType === 'single') {
    const ignored = answer.result.ignoredContextKeys || []
    if (ignored.some((key) => key.toLowerCase().startsWith('kms:encryptioncontext:'))) {
      // iam-simulate 0.1.173 drops kms:EncryptionContext:<key> from a KMS request as not applicable; AWS
      // evaluates it (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html). Such a request
      // (sent only when a policy reads the key) is decided without that validation; a denial is the key
      // policy's when no identity policy could have denied it explicitly.
      const result = runUnsafeSimulation(unvalidated(simulation, request), {})
      if (result !== answer.overallResult) {
        const denialType = result === 'ExplicitlyDenied' ? 'Explicit' : 'Implicit'
        return { result, denials: result === 'Allowed' ? [] : [{ policyType: 'resource', denialType }] }
      }
    }
    return { result: answer.overallResult, denials: getDenialReasons(answer.result.analysis) }
  }
  if (answer.resultType === 'error' && answer.errors.message === 'must.use.wildcard') {
    // The Service Authorization Reference lists no resource type for a few actions that AWS nevertheless
    // authorizes against a resource (states:SendTaskSuccess against the token's state machine): evaluate them
    // on that resource, without the reference's validation.
    return { result: runUnsafeSimulation(simulation, {}), denials: [] }
  }
  if (answer.resultType === 'error') {
    return { error: `${answer.errors.message}: ${JSON.stringify(answer.errors)}` }
  }
  return { result: answer.overallResult, denials: [] }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let answer
  try {
    const request = JSON.parse(line)
    if (request.op === 'load') {
      for (const [name, policy] of Object.entries(request.policies)) policies.set(name, policy)
      answer = { ok: true }
    } else {
      answer = await check(request)
    }
  } catch (error) {
    answer = { error: String((error && error.stack) || error) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
