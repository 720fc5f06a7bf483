"""Problems worked through the SARA cycle (scanning, analysis, response, assessment), one module
per use-case:

* :mod:`~openilp.services.problems.records` — open a problem with a measurable goal, change it,
  move it between stages, fill in its worksheet, add notes;
* :mod:`~openilp.services.problems.views` — the agency's problems and one problem in full;
* :mod:`~openilp.services.problems.scanning` — candidate problems from persistent Gi* hot spots
  and trend alerts over the agency's boundary polygons;
* :mod:`~openilp.services.problems.products` — analysis products attached to a problem (Knox
  table, trend chart, hot-spot map, incident list);
* :mod:`~openilp.services.problems.response` — interventions and comparison areas;
* :mod:`~openilp.services.problems.evaluation` — the power check before launch and the assessment;
* :mod:`~openilp.services.problems.progress` — progress toward the goal and the dashboard;
* :mod:`~openilp.services.problems.assessment` — assessing any response from the store (the
  command line's ``openilp assess store``);
* :mod:`~openilp.services.problems.areas` — GeoJSON areas from requests, size- and vertex-bounded;
  never a file name;
* :mod:`~openilp.services.problems.common` — stages, permissions, the change record.

Every public function takes the core object, the acting user and one request, owns its unit of
work, audits through it and returns a frozen result with ``as_dict()``. Problems are visible to
users of their agency only; changes need the ``problems:write`` permission.
"""

from openilp.services.problems.areas import MAX_AREA_BYTES, MAX_AREA_VERTICES, normalise_area
from openilp.services.problems.common import OPEN_STAGES, STAGES, WORKSHEET_FIELDS, ProblemNotFound
from openilp.services.problems.evaluation import (
    AssessmentRun,
    EvaluationChart,
    PowerCheck,
    PowerCheckRequest,
    RunAssessmentRequest,
    evaluation_chart,
    power_check,
    run_assessment,
)
from openilp.services.problems.products import (
    PRODUCT_KINDS,
    AttachmentContent,
    ProductAttached,
    ProductRequest,
    attach_product,
    attachment_content,
)
from openilp.services.problems.progress import (
    Dashboard,
    DashboardRequest,
    GoalProgress,
    ProgressRequest,
    dashboard,
    goal_progress,
)
from openilp.services.problems.records import (
    ChangeProblemRequest,
    NoteAdded,
    NoteRequest,
    OpenProblemRequest,
    ProblemChange,
    ProblemOpened,
    StageRequest,
    WorksheetRequest,
    add_note,
    open_problem,
    set_stage,
    update_problem,
    update_worksheet,
)
from openilp.services.problems.response import (
    COMPARISON_ROLES,
    ROLE_NAMES,
    AreaProposal,
    ComparisonAreaRequest,
    ComparisonAreaSet,
    InterventionAdded,
    InterventionChange,
    InterventionRequest,
    ProposeAreasRequest,
    RemoveInterventionRequest,
    add_intervention,
    change_intervention,
    propose_areas,
    remove_intervention,
    set_comparison_area,
)
from openilp.services.problems.scanning import ScanRequest, ScanResult, scan_candidates
from openilp.services.problems.views import (
    AreaChoices,
    CategoryChoices,
    ProblemDetail,
    ProblemList,
    ProblemSummary,
    agency_categories,
    area_choices,
    get_problem,
    list_problems,
)

__all__ = [
    "COMPARISON_ROLES",
    "MAX_AREA_BYTES",
    "MAX_AREA_VERTICES",
    "OPEN_STAGES",
    "PRODUCT_KINDS",
    "ROLE_NAMES",
    "STAGES",
    "WORKSHEET_FIELDS",
    "AreaChoices",
    "AreaProposal",
    "CategoryChoices",
    "AssessmentRun",
    "AttachmentContent",
    "ChangeProblemRequest",
    "ComparisonAreaRequest",
    "ComparisonAreaSet",
    "Dashboard",
    "DashboardRequest",
    "EvaluationChart",
    "GoalProgress",
    "InterventionAdded",
    "InterventionChange",
    "InterventionRequest",
    "NoteAdded",
    "NoteRequest",
    "OpenProblemRequest",
    "PowerCheck",
    "PowerCheckRequest",
    "ProblemChange",
    "ProblemDetail",
    "ProblemList",
    "ProblemNotFound",
    "ProblemOpened",
    "ProblemSummary",
    "ProductAttached",
    "ProductRequest",
    "ProgressRequest",
    "ProposeAreasRequest",
    "RemoveInterventionRequest",
    "RunAssessmentRequest",
    "ScanRequest",
    "ScanResult",
    "StageRequest",
    "WorksheetRequest",
    "add_intervention",
    "add_note",
    "agency_categories",
    "area_choices",
    "attach_product",
    "attachment_content",
    "change_intervention",
    "dashboard",
    "evaluation_chart",
    "get_problem",
    "goal_progress",
    "list_problems",
    "normalise_area",
    "open_problem",
    "power_check",
    "propose_areas",
    "remove_intervention",
    "run_assessment",
    "scan_candidates",
    "set_comparison_area",
    "set_stage",
    "update_problem",
    "update_worksheet",
]
