"""The core task library: constants, functions, collections and operators."""

from headwater.tasks.core.collections import Dict, List, Set, Tuple
from headwater.tasks.core.constants import Constant
from headwater.tasks.core.function import FunctionTask
from headwater.tasks.core.operators import GetAttr, GetItem
from headwater.tasks.core.resource_manager import ResourceManager, resource_manager

__all__ = [
    "Constant",
    "Dict",
    "FunctionTask",
    "GetAttr",
    "GetItem",
    "List",
    "ResourceManager",
    "Set",
    "Tuple",
    "resource_manager",
]
