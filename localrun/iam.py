"""IAM, enforced in local runs: every AWS request that the stack's own principals make is authorized against the
synthesized template before the emulated service sees it, and a request the deployed stack would deny fails with
the error AWS returns.

Who is checked, with which role (the same as on AWS):

* a handler's requests, with its function's execution role (session name: the function's name);
* the state machine's Lambda invokes and service integrations, with the state machine's role;
* the intake queue's event source mapping (ReceiveMessage, DeleteMessage, ...), with the intake function's role
  (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions).

The runner's own requests (the producer, the approver's browser, reading the tables at the end) are not the stack's
and are not checked.

What is evaluated, for each request: the role's identity policies (`AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`,
the role's inline `Policies`) and permissions boundary when the template defines it; the target's resource policy
(`AWS::SQS::QueuePolicy`, `AWS::SNS::TopicPolicy`, `AWS::Lambda::Permission`); and, when the target is encrypted
with a customer-managed key of the template, the KMS request the service makes with the caller's credentials against
the key policy (DynamoDB: kms:Decrypt; SNS publish: kms:GenerateDataKey and kms:Decrypt; SQS: kms:Decrypt to
receive, kms:GenerateDataKey and kms:Decrypt to send). The evaluator is @cloud-copilot/iam-simulate (npm, pinned in
package.json), run as one long-lived node process (`iam_simulate.mjs`); each distinct request is evaluated once
and its decision cached. What is not evaluated is listed in README ("IAM in local runs").
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .template import ACCOUNT, REGION, Template, TemplateError

ROOT = Path(__file__).resolve().parent.parent
EVALUATOR_SCRIPT = Path(__file__).resolve().parent / "iam_simulate.mjs"
EVALUATOR_PACKAGE = ROOT / "node_modules" / "@cloud-copilot" / "iam-simulate"

# botocore service name -> the IAM service prefix of its actions
IAM_PREFIX = {"stepfunctions": "states", "logs": "logs", "events": "events", "apigateway": "apigateway"}


class IamUnavailable(Exception):
    """The policy evaluator cannot run (node or the npm package is missing)."""


@dataclass(frozen=True)
class Principal:
    """A role session: what a request is signed with."""

    role_arn: str
    session: str
    function: str | None = None  # the function whose execution role this is, if any

    @property
    def arn(self) -> str:
        account = self.role_arn.split(":")[4]
        return f"arn:aws:sts::{account}:assumed-role/{self.role_arn.rsplit('/', 1)[1]}/{self.session}"


@dataclass(frozen=True)
class Authorization:
    """One authorization a request needs. `via` names the service that makes a KMS request with the caller's
    credentials (its error is the one the caller sees)."""

    action: str
    resource: str
    via: str | None = None
    context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Denial:
    """A request the template's policies deny, as reported (the message is the error's)."""

    principal: str
    function: str | None
    service: str
    operation: str
    action: str
    resource: str
    code: str
    message: str


@dataclass
class _Decision:
    allowed: bool
    why: str = ""


@dataclass
class _Resource:
    """What the authorizer knows of one emulated resource."""

    arn: str
    policy: str | None = None  # name of its resource policy in the evaluator
    key: str | None = None  # ARN of the customer-managed key it is encrypted with (a key of the template)
    tags: dict[str, str] = field(default_factory=dict)
    name: str = ""


# ---- the evaluator process ---------------------------------------------------------------------------------


class PolicyEvaluator:
    """One node process running iam_simulate.mjs; requests are answered in order, one at a time."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise IamUnavailable("IAM evaluation needs node on PATH (or run with --no-iam)")
        if not EVALUATOR_PACKAGE.is_dir():
            raise IamUnavailable(
                f"IAM evaluation needs {EVALUATOR_PACKAGE.relative_to(ROOT)}: run `make install` (or run with --no-iam)"
            )
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open for the process's life, closed in close()
        self._process = subprocess.Popen(  # noqa: S603 - node and a script of this repository
            [node, str(EVALUATOR_SCRIPT)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._lock = threading.Lock()
        self._loaded: set[str] = set()
        # decisions by request and policy contents (policy names are digests): shared by every run of the process
        self.decisions: dict[tuple[Any, ...], _Decision] = {}
        self.deciding = threading.Lock()

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._process.poll() is not None:
                raise IamUnavailable(f"the policy evaluator stopped: {self._errors()}")
            assert self._process.stdin is not None
            assert self._process.stdout is not None
            self._process.stdin.write(json.dumps(message) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise IamUnavailable(f"the policy evaluator stopped: {self._errors()}")
        answer = json.loads(line)
        if "error" in answer:
            raise TemplateError(f"the policy evaluator refused {message.get('action', 'a policy')}: {answer['error']}")
        return answer

    def _errors(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-2000:] or "no message"

    def load(self, policies: dict[str, dict[str, Any]]) -> None:
        """Makes the documents available under their names (a name is its document's digest: loaded once)."""
        new = {name: doc for name, doc in policies.items() if name not in self._loaded}
        if new:
            self._ask({"op": "load", "policies": new})
            self._loaded.update(new)

    def check(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._ask({"op": "check", **request})

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._stderr.close()


_shared: PolicyEvaluator | None = None
_shared_lock = threading.Lock()


def shared_evaluator() -> PolicyEvaluator:
    """The process-wide evaluator: started on first use (about 0.2 s), kept for every later run."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._process.poll() is not None:
            _shared = PolicyEvaluator()
            atexit.register(_shared.close)
        return _shared


# ---- the template's policies, resolved to the emulated ARNs ------------------------------------------------


class _PolicyResolver(Template):
    """Resolves intrinsics in policies like the emulator does, and gives resources the emulator does not create
    (keys, log groups, ...) the ARNs they would have, so that a statement about them resolves and matches only them."""

    def __init__(self, template: Template):
        super().__init__(
            body=template.body,
            stack_name=template.stack_name,
            refs=template.refs,
            attributes=template.attributes,
            on_demand=template.on_demand,
        )
        self.placeholders: set[str] = set()

    def _ref(self, name: str) -> Any:
        try:
            return super()._ref(name)
        except TemplateError:
            return self._stand_in(name, None)

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        try:
            return super()._get_att(logical_id, attribute)
        except TemplateError:
            return self._stand_in(logical_id, attribute)

    def _stand_in(self, logical_id: str, attribute: str | None) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"{logical_id}: not a resource of the template")
        kind, props = resource.get("Type"), resource.get("Properties", {})
        if kind == "AWS::KMS::Key":
            key_id = key_id_of(self.stack_name, logical_id)
            return key_id if attribute in (None, "KeyId") else f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
        if kind == "AWS::KMS::Alias" and attribute is None:
            return str(self.resolve(props.get("AliasName", logical_id)))
        if kind == "AWS::Logs::LogGroup":
            name = str(self.resolve(props.get("LogGroupName") or f"{self.stack_name}-{logical_id}"))
            return name if attribute is None else f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
        self.placeholders.add(logical_id)
        # matches no request: nothing the emulator serves has this ARN
        return f"arn:aws:localrun:{REGION}:{ACCOUNT}:not-emulated/{logical_id}" + (f"/{attribute}" if attribute else "")


def key_id_of(stack_name: str, logical_id: str) -> str:
    """The stable local id of a template's KMS key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"localrun:{stack_name}:{logical_id}"))


def _tags(props: dict[str, Any], resolver: _PolicyResolver) -> dict[str, str]:
    tags = props.get("Tags") or []
    if isinstance(tags, dict):  # some resource types (SSM, ...) use a map
        return {str(k): str(resolver.resolve(v)) for k, v in tags.items()}
    return {str(t["Key"]): str(resolver.resolve(t["Value"])) for t in tags if isinstance(t, dict) and "Key" in t}


def _digest(document: Any) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:20]


def _condition_keys(document: Any) -> set[str]:
    """Condition keys and policy variables a document reads, lowercased (IAM compares them case-insensitively)."""
    keys: set[str] = set()
    text = json.dumps(document)
    keys.update(match.lower() for match in re.findall(r"\$\{([A-Za-z0-9]+:[^}]+)\}", text))
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        for operators in (statement.get("Condition") or {}).values():
            keys.update(str(key).lower() for key in (operators or {}))
    return keys


# ---- errors as the services return them ----------------------------------------------------------------------

# (code, HTTP status) of a request the service's authorization refuses
_DENIED = {
    "dynamodb": ("AccessDeniedException", 400),
    "sns": ("AuthorizationError", 403),
    "sqs": ("AccessDenied", 403),  # the query-compatible code SQS's JSON protocol still returns
    "stepfunctions": ("AccessDeniedException", 400),
    "lambda": ("AccessDeniedException", 403),
}
# (code, HTTP status, message prefix) of a request the service could not make to KMS with the caller's credentials
_KMS_DENIED = {
    # aws/aws-cdk#10010: "KMS key access denied error: com.amazonaws.services.kms.model.AWSKMSException: ..."
    "dynamodb": (
        "AccessDeniedException",
        400,
        "KMS key access denied error: com.amazonaws.services.kms.model.AWSKMSException: ",
    ),
    "sns": ("KMSAccessDenied", 400, ""),
    "sqs": ("KMS.AccessDeniedException", 400, ""),
}
_EXPLICIT = {"identity": "an identity-based", "resource": "a resource-based", "pb": "a permissions boundary"}
_IMPLICIT = {"identity": "identity-based policy", "resource": "resource-based policy", "pb": "permissions boundary"}


def _why(action: str, answer: dict[str, Any]) -> str:
    """The end of AWS's access-denied message: which kind of policy denied, explicitly or by not allowing."""
    denials = answer.get("denials") or []
    explicit = next((d for d in denials if d.get("denialType") == "Explicit"), None)
    if explicit is not None or answer.get("result") == "ExplicitlyDenied":
        kind = (explicit or {}).get("policyType", "identity")
        return f"with an explicit deny in {_EXPLICIT.get(kind, 'a')} policy".replace("boundary policy", "boundary")
    kind = denials[0].get("policyType", "identity") if denials else "identity"
    return f"because no {_IMPLICIT.get(kind, 'identity-based policy')} allows the {action} action"


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else ACCOUNT


def _request_id(*parts: str) -> str:
    # deterministic: the same denial has the same id in every run (results are compared run to run)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "localrun-iam:" + "|".join(parts)))


# ---- the authorizer ----------------------------------------------------------------------------------------


class Authorizer:
    """The template's principals, policies and protected resources, and `authorize`, the check the emulator runs
    before every request a principal of the stack makes."""

    def __init__(self, template: Template, evaluator: PolicyEvaluator | None = None):
        self.evaluator = evaluator or shared_evaluator()
        self.denials: list[Denial] = []
        # requests a principal of the stack made that no rule here maps to an authorization (not enforced)
        self.unevaluated: set[tuple[str, str]] = set()
        # AWS-managed policies and boundaries a role names: their text is not in the template (not enforced)
        self.unknown_policies: set[str] = set()
        # the evaluator's own failures (the run reports them: a request must never pass or fail for want of a check)
        self.errors: list[str] = []
        resolver = _PolicyResolver(template)
        self._stack = template.stack_name
        documents: dict[str, dict[str, Any]] = {}

        def register(document: Any) -> str:
            name = _digest(document)
            documents[name] = document
            return name

        self.roles: dict[str, dict[str, Any]] = {}
        for logical_id, resource in template.of_type("AWS::IAM::Role").items():
            props = resource.get("Properties", {})
            arn = resolver.resolve({"Fn::GetAtt": [logical_id, "Arn"]})
            role = {"identity": [], "boundary": [], "tags": _tags(props, resolver), "logical_id": logical_id}
            for inline in props.get("Policies") or []:
                role["identity"].append(register(resolver.resolve(inline["PolicyDocument"])))
            for managed in props.get("ManagedPolicyArns") or []:
                self._managed(managed, resolver, role["identity"], register)
            if props.get("PermissionsBoundary"):
                self._managed(props["PermissionsBoundary"], resolver, role["boundary"], register)
            self.roles[arn] = role
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for resource in template.of_type(kind).values():
                props = resource.get("Properties", {})
                name = register(resolver.resolve(props["PolicyDocument"]))
                for role_ref in props.get("Roles") or []:
                    role_arn = self._role_arn(resolver.resolve(role_ref), resolver)
                    if role_arn in self.roles:
                        self.roles[role_arn]["identity"].append(name)

        self.keys: dict[str, _Resource] = {}
        for logical_id, resource in template.of_type("AWS::KMS::Key").items():
            props = resource.get("Properties", {})
            arn = resolver.resolve({"Fn::GetAtt": [logical_id, "Arn"]})
            policy = register(resolver.resolve(props["KeyPolicy"])) if props.get("KeyPolicy") else None
            self.keys[arn] = _Resource(arn=arn, policy=policy, tags=_tags(props, resolver))
        aliases = {
            resolver.resolve(r["Properties"]["AliasName"]): resolver.resolve(r["Properties"]["TargetKeyId"])
            for r in template.of_type("AWS::KMS::Alias").values()
        }

        def key_of(value: Any) -> str | None:
            """A template key's ARN from a key id, key ARN, alias name or alias ARN; None for other keys (AWS
            managed, or of another stack: their policies are not in the template)."""
            if not value:
                return None
            value = str(resolver.resolve(value))
            value = aliases.get(value.split(":", 5)[-1] if value.startswith("arn:") else value, value)
            value = str(resolver.resolve(value))
            for arn in self.keys:
                if value in (arn, arn.rsplit("/", 1)[1]):
                    return arn
            return None

        self.tables: dict[str, _Resource] = {}
        for logical_id, resource in template.of_type("AWS::DynamoDB::Table").items():
            if logical_id not in template.refs:
                continue
            props = resource.get("Properties", {})
            sse = props.get("SSESpecification") or {}
            key = key_of(sse.get("KMSMasterKeyId")) if sse.get("SSEEnabled") else None
            name = template.refs[logical_id]
            self.tables[name] = _Resource(
                arn=template.attributes[(logical_id, "Arn")], key=key, tags=_tags(props, resolver), name=name
            )
        queue_policies: dict[str, list[Any]] = {}
        for resource in template.of_type("AWS::SQS::QueuePolicy").values():
            props = resource.get("Properties", {})
            for queue in props.get("Queues") or []:
                queue_policies.setdefault(str(resolver.resolve(queue)), []).append(props["PolicyDocument"])
        self.queues: dict[str, _Resource] = {}
        for logical_id, resource in template.of_type("AWS::SQS::Queue").items():
            if logical_id not in template.refs:
                continue
            props = resource.get("Properties", {})
            url = template.refs[logical_id]
            policy = self._merged(queue_policies.get(url), resolver, register)
            self.queues[url] = _Resource(
                arn=template.attributes[(logical_id, "Arn")],
                policy=policy,
                key=key_of(props.get("KmsMasterKeyId")),
                tags=_tags(props, resolver),
            )
        topic_policies: dict[str, list[Any]] = {}
        for resource in template.of_type("AWS::SNS::TopicPolicy").values():
            props = resource.get("Properties", {})
            for topic in props.get("Topics") or []:
                topic_policies.setdefault(str(resolver.resolve(topic)), []).append(props["PolicyDocument"])
        self.topics: dict[str, _Resource] = {}
        for logical_id, resource in template.of_type("AWS::SNS::Topic").items():
            if logical_id not in template.refs:
                continue
            props = resource.get("Properties", {})
            arn = template.refs[logical_id]
            self.topics[arn] = _Resource(
                arn=arn,
                policy=self._merged(topic_policies.get(arn), resolver, register),
                key=key_of(props.get("KmsMasterKeyId")),
                tags=_tags(props, resolver),
            )
        permissions: dict[str, list[dict[str, Any]]] = {}
        for resource in template.of_type("AWS::Lambda::Permission").values():
            props = resolver.resolve(resource.get("Properties", {}))
            function_arn = str(props["FunctionName"])
            principal = str(props["Principal"])
            statement: dict[str, Any] = {
                "Effect": "Allow",
                "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
                "Action": props["Action"],
                "Resource": function_arn,
            }
            condition: dict[str, Any] = {}
            if props.get("SourceArn"):
                condition["ArnLike"] = {"aws:SourceArn": props["SourceArn"]}
            if props.get("SourceAccount"):
                condition["StringEquals"] = {"aws:SourceAccount": props["SourceAccount"]}
            if condition:
                statement["Condition"] = condition
            permissions.setdefault(function_arn, []).append(statement)
        self.functions: dict[str, _Resource] = {}
        self._function_roles: dict[str, str] = {}
        for logical_id, resource in template.of_type("AWS::Lambda::Function").items():
            if logical_id not in template.refs:
                continue
            props = resource.get("Properties", {})
            name = template.refs[logical_id]
            arn = template.attributes[(logical_id, "Arn")]
            statements = permissions.get(arn) or permissions.get(name)
            policy = register({"Version": "2012-10-17", "Statement": statements}) if statements else None
            self.functions[name] = _Resource(arn=arn, policy=policy, tags=_tags(props, resolver), name=name)
            self._function_roles[name] = str(resolver.resolve(props["Role"]))
        self.state_machines: dict[str, _Resource] = {}
        for logical_id, resource in template.of_type("AWS::StepFunctions::StateMachine").items():
            if logical_id in template.refs:
                arn = template.refs[logical_id]
                self.state_machines[arn] = _Resource(arn=arn, tags=_tags(resource.get("Properties", {}), resolver))

        self.evaluator.load(documents)
        self._referenced: set[str] = set()
        self._token = object()
        for document in documents.values():
            self._referenced |= _condition_keys(document)

    # ---- the template's pieces -------------------------------------------------------------------------

    def _role_arn(self, value: str, resolver: _PolicyResolver) -> str:
        if value.startswith("arn:"):
            return value
        for arn, role in self.roles.items():
            if arn.rsplit("/", 1)[1] == value or role["logical_id"] == value:
                return arn
        return value

    def _managed(self, value: Any, resolver: _PolicyResolver, into: list[str], register: Any) -> None:
        """A role's managed policy or boundary: the template's own (a Ref to its ManagedPolicy) is evaluated; an
        AWS-managed one is named in `unknown_policies` (its text is not in the template)."""
        if isinstance(value, dict) and "Ref" in value:
            resource = resolver.resources.get(value["Ref"], {})
            if resource.get("Type") == "AWS::IAM::ManagedPolicy":
                into.append(register(resolver.resolve(resource["Properties"]["PolicyDocument"])))
                return
        self.unknown_policies.add(str(resolver.resolve(value)))

    @staticmethod
    def _merged(documents: list[Any] | None, resolver: _PolicyResolver, register: Any) -> str | None:
        if not documents:
            return None
        statements: list[Any] = []
        for document in documents:
            resolved = resolver.resolve(document)
            found = resolved.get("Statement", [])
            statements.extend(found if isinstance(found, list) else [found])
        return register({"Version": "2012-10-17", "Statement": statements})

    # ---- principals ------------------------------------------------------------------------------------

    def function_principal(self, function: str) -> Principal | None:
        role = self._function_roles.get(function)
        return Principal(role_arn=role, session=function, function=function) if role else None

    @staticmethod
    def role_principal(role_arn: str) -> Principal:
        # Step Functions names its sessions with a random token; a stable one keeps denial messages reproducible
        return Principal(role_arn=role_arn, session=hashlib.sha256(role_arn.encode()).hexdigest()[:32])

    # ---- requests -> authorizations --------------------------------------------------------------------

    def authorizations(self, service: str, operation: str, params: dict[str, Any]) -> list[Authorization] | None:
        """What a request needs, in the order AWS checks it; None for a request no rule here maps."""
        method = getattr(self, f"_{service}", None)
        if method is None:
            return None
        return method(operation, params)

    def _table(self, name: str) -> _Resource:
        if name.startswith("arn:"):
            name = name.rsplit("/", 1)[1]
        return self.tables.get(name) or _Resource(arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}", name=name)

    def _dynamodb(self, operation: str, params: dict[str, Any]) -> list[Authorization] | None:
        # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html: a transaction
        # needs each of its actions on each table; a batch needs BatchGetItem / BatchWriteItem on each table.
        needs: list[tuple[str, _Resource]] = []
        if operation == "TransactWriteItems":
            kinds = {
                "ConditionCheck": "ConditionCheckItem",
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
            }
            for item in params.get("TransactItems", []):
                for kind, body in item.items():
                    needs.append((f"dynamodb:{kinds.get(kind, kind)}", self._table(body["TableName"])))
        elif operation == "TransactGetItems":
            for item in params.get("TransactItems", []):
                needs.append(("dynamodb:GetItem", self._table(item["Get"]["TableName"])))
        elif operation in ("BatchGetItem", "BatchWriteItem"):
            for name in params.get("RequestItems", {}):
                needs.append((f"dynamodb:{operation}", self._table(name)))
        elif "TableName" in params:
            table = self._table(params["TableName"])
            index = params.get("IndexName")
            target = (
                _Resource(arn=f"{table.arn}/index/{index}", key=table.key, tags=table.tags, name=table.name)
                if index
                else table
            )
            needs.append((f"dynamodb:{operation}", target))
        else:
            return None
        checks: list[Authorization] = []
        for action, table in needs:
            check = Authorization(action, table.arn)
            if check not in checks:
                checks.append(check)
        # https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html: DynamoDB decrypts the table
        # key with the caller's credentials (kms:Decrypt, via dynamodb, encryption context tableName/subscriberId);
        # aws/aws-cdk#10010: a write needs it too.
        for table in {t.arn: t for _, t in needs}.values():
            if table.key:
                context = (
                    ("kms:EncryptionContext:aws:dynamodb:tableName", table.name),
                    ("kms:EncryptionContext:aws:dynamodb:subscriberId", ACCOUNT),
                )
                checks.append(Authorization("kms:Decrypt", table.key, via="dynamodb", context=context))
        return checks

    def _sns(self, operation: str, params: dict[str, Any]) -> list[Authorization] | None:
        arn = params.get("TopicArn") or params.get("TargetArn")
        if not arn:
            return None
        checks = [Authorization(f"sns:{operation}", arn)]
        topic = self.topics.get(arn)
        if operation in ("Publish", "PublishBatch") and topic is not None and topic.key:
            # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html: a publisher to an encrypted topic
            # needs kms:GenerateDataKey* and kms:Decrypt on its key
            context = (("kms:EncryptionContext:aws:sns:topicArn", arn),)
            checks += [
                Authorization("kms:GenerateDataKey", topic.key, via="sns", context=context),
                Authorization("kms:Decrypt", topic.key, via="sns", context=context),
            ]
        return checks

    def queue_arn(self, url: str) -> str:
        known = self.queues.get(url)
        if known is not None:
            return known.arn
        account, name = url.rstrip("/").split("/")[-2:]
        return f"arn:aws:sqs:{REGION}:{account}:{name}"

    def _sqs(self, operation: str, params: dict[str, Any]) -> list[Authorization] | None:
        url = params.get("QueueUrl")
        if not url:
            return None
        arn = self.queue_arn(url)
        action = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage"}.get(operation, operation)
        action = {"ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}.get(action, action)
        checks = [Authorization(f"sqs:{action}", arn)]
        queue = self.queues.get(url)
        if queue is not None and queue.key:
            # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html:
            # producers need kms:GenerateDataKey and kms:Decrypt, consumers kms:Decrypt
            context = (("kms:EncryptionContext:aws:sqs:arn", arn),)
            if action == "SendMessage":
                checks.append(Authorization("kms:GenerateDataKey", queue.key, via="sqs", context=context))
            if action in ("SendMessage", "ReceiveMessage"):
                checks.append(Authorization("kms:Decrypt", queue.key, via="sqs", context=context))
        return checks

    def _stepfunctions(self, operation: str, params: dict[str, Any]) -> list[Authorization] | None:
        if operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
            # AWS authorizes a task response against the state machine that issued the token (aws/aws-cdk#8486);
            # with one state machine in the template, that is it.
            machines = list(self.state_machines)
            return [Authorization(f"states:{operation}", machines[0] if len(machines) == 1 else "*")]
        arn = params.get("stateMachineArn") or params.get("executionArn")
        return [Authorization(f"states:{operation}", arn)] if arn else None

    def function_arn(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        base, _, qualifier = name.partition(":")
        known = self.functions.get(base)
        arn = known.arn if known else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{base}"
        return f"{arn}:{qualifier}" if qualifier else arn

    def _lambda(self, operation: str, params: dict[str, Any]) -> list[Authorization] | None:
        name = params.get("FunctionName")
        if not name:
            return None
        arn = self.function_arn(str(name))
        if params.get("Qualifier") and arn.count(":") == 6:
            arn = f"{arn}:{params['Qualifier']}"
        action = {"Invoke": "InvokeFunction", "InvokeAsync": "InvokeFunction"}.get(operation, operation)
        return [Authorization(f"lambda:{action}", arn)]

    # ---- evaluation ------------------------------------------------------------------------------------

    def _target(self, arn: str) -> _Resource | None:
        for index in (self.keys, self.topics):
            if arn in index:
                return index[arn]
        for table in self.tables.values():
            if arn == table.arn or arn.startswith(table.arn + "/"):
                return table
        for queue in self.queues.values():
            if arn == queue.arn:
                return queue
        for function in self.functions.values():
            if arn == function.arn or arn.startswith(function.arn + ":"):
                return function
        return self.state_machines.get(arn)

    def _context(self, principal: Principal, check: Authorization, target: _Resource | None) -> dict[str, str]:
        role = self.roles.get(principal.role_arn, {})
        values = {
            "aws:SecureTransport": "true",  # the SDKs call AWS over HTTPS
            "aws:RequestedRegion": REGION,
            "aws:PrincipalArn": principal.role_arn,
            "aws:PrincipalAccount": principal.role_arn.split(":")[4],
            "aws:PrincipalType": "AssumedRole",
            "aws:PrincipalIsAWSService": "false",
            "aws:ViaAWSService": "true" if check.via else "false",
            **{f"aws:PrincipalTag/{k}": v for k, v in role.get("tags", {}).items()},
            **{f"aws:ResourceTag/{k}": v for k, v in (target.tags if target else {}).items()},
            **dict(check.context),
        }
        if principal.function:
            # https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html
            values["lambda:SourceFunctionArn"] = self.function_arn(principal.function)
        if check.via:
            values["kms:ViaService"] = f"{check.via}.{REGION}.amazonaws.com"
            values["kms:CallerAccount"] = principal.role_arn.split(":")[4]
        if "aws:currenttime" in self._referenced or "aws:epochtime" in self._referenced:
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            values["aws:CurrentTime"] = now.isoformat().replace("+00:00", "Z")
            values["aws:EpochTime"] = str(int(now.timestamp()))
        # A key no policy reads cannot change a decision: leave it out of the request and of the cache key.
        return {k: v for k, v in values.items() if k.lower() in self._referenced}

    def decide(self, principal: Principal, check: Authorization) -> _Decision:
        # The request below is a function of (principal, check) alone, unless a policy reads the clock: its
        # decision is kept by that pair, sparing the request's key (a JSON text) on each of a run's ~50 requests
        # per order (issue 13: it was the costliest function of localrun in the profile of a run).
        timeless = "aws:currenttime" not in self._referenced and "aws:epochtime" not in self._referenced
        # Kept with the evaluator's decisions (clearing them clears these), under this authorizer's own token: its
        # template's policies are part of every decision.
        key = (self._token, principal, check)
        decisions = self.evaluator.decisions
        if timeless:
            known = decisions.get(key)
            if known is not None:
                return known
        decision = self._decide(principal, check)
        if timeless:
            decisions[key] = decision
        return decision

    def _decide(self, principal: Principal, check: Authorization) -> _Decision:
        target = self._target(check.resource)
        context = self._context(principal, check, target)
        role = self.roles.get(principal.role_arn, {})
        request = {
            "principal": principal.arn,
            "action": check.action,
            "resource": check.resource,
            "account": _account_of(check.resource),
            "identity": role.get("identity", []),
            "boundary": role.get("boundary", []),
            "resourcePolicy": target.policy if target else None,
            "context": context,
        }
        key = json.dumps(request, sort_keys=True)
        decisions = self.evaluator.decisions
        decision = decisions.get(key)
        if decision is None:
            # one evaluation per distinct request, even when several executions ask at once
            with self.evaluator.deciding:
                decision = decisions.get(key)
                if decision is None:
                    answer = self.evaluator.check(request)
                    allowed = answer["result"] == "Allowed"
                    decision = _Decision(allowed, "" if allowed else _why(check.action, answer))
                    decisions[key] = decision
        return decision

    def authorize(self, client: Any, operation: str, params: dict[str, Any], function: str | None) -> None:
        """Raises the ClientError AWS would return when the template's policies deny the request. The principal is
        the state machine's role for a client the interpreter made (tagged with its role), else `function`'s
        execution role; a request by neither (the runner) is not checked."""
        role = getattr(client, "_localrun_role_arn", None)
        principal = self.role_principal(role) if role else (self.function_principal(function) if function else None)
        if principal is None:
            return
        service = client.meta.service_model.service_name
        checks = self.authorizations(service, operation, params)
        if checks is None:
            self.unevaluated.add((service, operation))
            return
        for check in checks:
            try:
                decision = self.decide(principal, check)
            except (IamUnavailable, TemplateError) as exc:
                self.errors.append(f"{principal.arn} {check.action} {check.resource}: {exc}")
                raise
            if not decision.allowed:
                raise self._denied(client, service, operation, principal, check, decision)

    def _denied(
        self, client: Any, service: str, operation: str, principal: Principal, check: Authorization, decision: _Decision
    ) -> ClientError:
        request_id = _request_id(principal.arn, check.action, check.resource)
        message = (
            f"User: {principal.arn} is not authorized to perform: {check.action} on resource: {check.resource}"
            f" {decision.why}"
        )
        if check.via:
            code, status, prefix = _KMS_DENIED.get(check.via, ("AccessDeniedException", 400, ""))
            message = (
                f"{prefix}{message} (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException;"
                f" Request ID: {request_id}; Proxy: null)"
            )
        else:
            code, status = _DENIED.get(service, ("AccessDeniedException", 400))
        self.denials.append(
            Denial(principal.arn, principal.function, service, operation, check.action, check.resource, code, message)
        )
        response = {
            "Error": {"Code": code, "Message": message, "Type": "Sender"},
            "ResponseMetadata": {
                "RequestId": request_id,
                "HTTPStatusCode": status,
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        }
        return client.exceptions.from_code(code)(response, operation)


# ---- how a failed request surfaces in a Lambda task -------------------------------------------------------


def _lambda_invoke_errors() -> set[str]:
    import botocore.session

    model = botocore.session.get_session().get_service_model("lambda").operation_model("Invoke")
    return {shape.name for shape in model.error_shapes}


def lambda_task_error(error: ClientError) -> tuple[str, str]:
    """(error, cause) of a Lambda task whose Invoke request failed, as Step Functions reports it: `Lambda.<code>`
    for an error the Lambda API models (Lambda.ServiceException, Lambda.TooManyRequestsException, ...),
    `Lambda.AWSLambdaException` for any other (AccessDeniedException: awslabs/aws-deployment-framework#460)."""
    code = error.response["Error"]["Code"]
    metadata = error.response.get("ResponseMetadata", {})
    name = f"Lambda.{code}" if code in _lambda_invoke_errors() else "Lambda.AWSLambdaException"
    cause = (
        f"{error.response['Error'].get('Message', '')} (Service: AWSLambda; Status Code:"
        f" {metadata.get('HTTPStatusCode', 400)}; Error Code: {code}; Request ID: {metadata.get('RequestId', '')};"
        " Proxy: null)"
    )
    return name, cause


def lambda_task_error_patches() -> list[Any]:
    """moto names a failed Invoke request of a Lambda task `Exception` (function ARN as Resource) or `Lambda.<code>`
    (lambda:invoke integration); Step Functions names it as `lambda_task_error` does, so Retry and Catch match."""
    from unittest import mock

    from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
        StateTaskServiceLambda,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    original = StateTaskLambda._from_error

    def from_error(state: Any, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return original(state, env, ex)
        error, cause = lambda_task_error(ex)
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
            ),
        )

    return [
        mock.patch.object(StateTaskLambda, "_from_error", from_error),
        mock.patch.object(StateTaskServiceLambda, "_error_cause_from_client_error", staticmethod(lambda_task_error)),
    ]


def denials_by(denials: Iterable[Denial], function: str) -> list[Denial]:
    return [d for d in denials if d.function == function]
