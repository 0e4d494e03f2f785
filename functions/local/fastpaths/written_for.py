"""The library files each fast path was written for: module → {fingerprint: release}.

A fingerprint (:func:`~functions.local.fastpaths.guard.fingerprint_of`) is added here only
after the fast paths that read the file were checked against that release's code — by
reading the change, and by their tests, which compare every fast path's results with the
library's own (``tests/functions/test_local_*``). ``python -m functions.local.fastpaths
--fingerprints`` prints the installed files' lines for this table.
"""

from __future__ import annotations

WRITTEN_FOR: dict[str, dict[str, str]] = {
    "boto3.session": {"c113623eabf46a14": "boto3 1.44.18"},
    "botocore.awsrequest": {"85d0ae028b154a99": "botocore 1.44.18"},
    "botocore.endpoint": {"0ce924a118e3ad98": "botocore 1.44.18"},
    "botocore.parsers": {"2367dc4b9f07e495": "botocore 1.44.18"},
    "botocore.session": {"1da939f2ac5ee705": "botocore 1.44.18"},
    "jsonpath_ng.jsonpath": {"605dce23d032f7d8": "jsonpath-ng 1.17.0"},
    "jsonpath_ng.parser": {"cc02ad2deed62264": "jsonpath-ng 1.17.0"},
    "moto.awslambda.models": {"fc37ae1c1fa75676": "moto 5.2.5, 5.2.6"},
    "moto.awslambda.responses": {"15e9266521c19db2": "moto 5.2.5, 5.2.6"},
    "moto.awslambda.utils": {"27921326fdfa9bf4": "moto 5.2.5, 5.2.6"},
    "moto.batch.utils": {"ccea113dcced65c7": "moto 5.2.5, 5.2.6"},
    "moto.core.botocore_stubber": {"1fa8dc6c54fa37cf": "moto 5.2.5, 5.2.6"},
    "moto.core.constants": {"365632f6bac93cfe": "moto 5.2.5, 5.2.6"},
    "moto.core.models": {"daed0c26effed826": "moto 5.2.5, 5.2.6"},
    "moto.core.parse": {"c16e83e42657f544": "moto 5.2.6"},
    "moto.core.request": {"70d27b97e771a7ed": "moto 5.2.6"},
    "moto.core.responses": {"01083111f5d0be5e": "moto 5.2.6"},
    "moto.core.serialize": {"abe6e13f4dd04ee4": "moto 5.2.6"},
    "moto.core.utils": {"2ab2d4751404ef05": "moto 5.2.5, 5.2.6"},
    "moto.dynamodb.exceptions": {"25b24b23db9fa47e": "moto 5.2.5, 5.2.6"},
    "moto.dynamodb.models.dynamo_type": {"42f01d8d39d57bf2": "moto 5.2.6"},
    "moto.dynamodb.models.table": {"3fecc9e51039f5a1": "moto 5.2.5, 5.2.6"},
    "moto.dynamodb.models.utilities": {"876f93c34a45aa52": "moto 5.2.6"},
    "moto.dynamodb.responses": {"5de110976437f3c9": "moto 5.2.6"},
    "moto.iam.models": {"05e859d930695666": "moto 5.2.5, 5.2.6"},
    "moto.moto_api._internal.moto_random": {"5e926ec5f9111ddf": "moto 5.2.5, 5.2.6"},
    "moto.settings": {"602291cd17ca875b": "moto 5.2.5", "633faa870878b8e8": "moto 5.2.6"},
    "moto.stepfunctions.parser.api": {"44ff8924cea1a820": "moto 5.2.5", "48629a656f85c6a4": "moto 5.2.6"},
    "moto.stepfunctions.parser.asl.component.common.error_name.failure_event": {
        "2594dc022c2c37d8": "moto 5.2.5, 5.2.6",
    },
    "moto.stepfunctions.parser.asl.component.common.path.result_path": {
        "33b4fae320351419": "moto 5.2.5, 5.2.6",
    },
    "moto.stepfunctions.parser.asl.component.common.timeouts.timeout": {
        "6039a7c77b6b04b4": "moto 5.2.5, 5.2.6",
    },
    "moto.stepfunctions.parser.asl.component.component": {"f3b20253f7d1e4b6": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.component.eval_component": {"76fe99b1bd75462d": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.component.program.program": {"2b45e2d237c1c5c1": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state": {
        "6cc52e59c727d41e": "moto 5.2.5, 5.2.6",
    },
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor."
    "inline_item_processor_worker": {
        "64ad6bed9f0d8f8c": "moto 5.2.5, 5.2.6",
    },
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils": {
        "3b0e86edfb1661db": "moto 5.2.5, 5.2.6",
    },
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch": {
        "25ba79fe0294f0ef": "moto 5.2.5, 5.2.6",
    },
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda": {
        "b19355e27f3f59c0": "moto 5.2.5, 5.2.6",
    },
    "moto.stepfunctions.parser.asl.component.state.state": {"70fcbfdfa0d55078": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.eval.environment": {"0c57e3472828e031": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.eval.event.event_manager": {"5bdb7c20cc1bcf4e": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.eval.program_state": {"2dc5fa9e36dbaa9f": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.eval.states": {"b35fac28f8647c5a": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.parse.asl_parser": {"441f2b03ef50e2ed": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.utils.boto_client": {"a6bb8ed8174dc035": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.asl.utils.encoding": {"a1c22cd54259fa5a": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.backend.execution": {"7fb8d9974b83b566": "moto 5.2.5, 5.2.6"},
    "moto.stepfunctions.parser.models": {"be4646bb5c7f1aef": "moto 5.2.5", "24b99216eb9641d0": "moto 5.2.6"},
}
