"""Fixed tables behind the synthetic city: county weights, names, roads, family shapes.

Everything here is data, chosen to look like a northern-Jiangsu city around 2012: common local
surnames, given names in the style of the birth decade, and 2012-era county populations. Nothing
here describes a real person.
"""

from __future__ import annotations

from typing import Final

# Relative 户籍 population of each county (about 2012, 万人; DOMAIN.md §8 gives the city's
# 531万 户籍 and 赣榆 ≈95万 常住). Households are spread over communities in these proportions.
COUNTY_WEIGHTS: Final[dict[str, float]] = {
    "320703": 24.0,   # 连云区
    "320706": 115.0,  # 海州区 (old 新浦 + old 海州)
    "320707": 112.0,  # 赣榆区
    "320722": 118.0,  # 东海县
    "320723": 100.0,  # 灌云县
    "320724": 78.0,   # 灌南县
}

# An urban 社区 holds more households than a village (村).
URBAN_COMMUNITY_WEIGHT: Final = 1.6

# ID numbers keep the code they were issued with (DOMAIN.md §7.1): people born before the 2014
# reform in 海州 carry 320705 新浦区 or the old 320706, in 赣榆 the old county code 320721.
REFORM_DATE_ISO: Final = "2014-05-02"  # 国函〔2014〕56号
HISTORICAL_ID_CODES: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    # county: ((code issued before the reform, share), ...); the rest keep the county's own code
    "320706": (("320705", 0.55),),
    "320707": (("320721", 1.0),),
}
# Share of adults whose number was issued in another county of the city (moved within the city).
MOVED_WITHIN_CITY: Final = 0.04

# (surname, weight): the commonest surnames of northern Jiangsu, roughly by frequency.
SURNAMES: Final[tuple[tuple[str, float], ...]] = (
    ("王", 9.0), ("张", 7.5), ("李", 7.0), ("刘", 6.0), ("陈", 4.5), ("孙", 4.0), ("徐", 4.0),
    ("朱", 3.0), ("杨", 3.0), ("吴", 2.8), ("周", 2.5), ("赵", 2.5), ("胡", 1.8), ("高", 1.8),
    ("马", 1.6), ("孟", 1.5), ("郭", 1.4), ("黄", 1.3), ("许", 1.3), ("董", 1.2), ("蒋", 1.1),
    ("沈", 1.0), ("韩", 1.0), ("魏", 1.0), ("葛", 0.9), ("卢", 0.8), ("唐", 0.8), ("宋", 0.8),
    ("杜", 0.7), ("姜", 0.7), ("曹", 0.7), ("程", 0.6), ("潘", 0.6), ("季", 0.6), ("顾", 0.5),
    ("邵", 0.5), ("仲", 0.5), ("惠", 0.4), ("万", 0.4), ("单", 0.4), ("窦", 0.3), ("汤", 0.3),
    ("尹", 0.3), ("薛", 0.3), ("倪", 0.3), ("范", 0.3), ("秦", 0.3), ("袁", 0.3), ("丁", 0.3),
    ("冯", 0.3),
)

# Given-name characters by sex and by generation (born before 1975 or later).
_MALE_OLD = "建国军华明志强永伟德文成勇平海林春庆福宝友金忠兴学立新洪红卫东峰祥贵荣"
_MALE_NEW = "浩宇子轩博涵睿泽俊杰一航晨阳铭昊鹏辰逸嘉文天思瑞宸奕宁凯"
_FEMALE_OLD = "秀英兰桂芳玉珍凤梅华霞琴红萍丽云春花菊翠莲娟敏静燕"
_FEMALE_NEW = "欣怡梓涵诗雨萱佳可馨悦思雅琪子婷晨瑶一若彤语佳梦"


def _given_names(chars: str, singles_share: int) -> tuple[str, ...]:
    """Two-character names from every ordered pair, plus single-character names repeated so
    that about one name in (singles_share + 1) is a single character."""
    unique = list(dict.fromkeys(chars))
    pairs = [a + b for a in unique for b in unique if a != b]
    singles = unique * max(1, len(pairs) // (len(unique) * singles_share))
    return tuple(pairs + singles)


GIVEN_NAMES: Final[dict[tuple[str, bool], tuple[str, ...]]] = {
    # (sex, born before 1975) -> names
    ("M", True): _given_names(_MALE_OLD, 4),
    ("M", False): _given_names(_MALE_NEW, 8),
    ("F", True): _given_names(_FEMALE_OLD, 4),
    ("F", False): _given_names(_FEMALE_NEW, 8),
}
OLD_STYLE_BEFORE_YEAR: Final = 1975

ROADS: Final[tuple[str, ...]] = (
    "幸福路", "解放路", "人民路", "海连路", "通灌路", "朝阳路", "新浦路", "建设路", "民主路", "陇海路",
    "郁州路", "海昌路", "苍梧路", "云台山路", "花果山大道", "凌州路", "瀛洲路", "新孔路", "盐河路",
    "龙尾河路", "长江路", "黄河路", "珠江路", "振华路", "团结路", "和平路", "工农路", "青年路",
    "文化路", "胜利路", "迎宾大道", "东方大道", "新华路", "光明路", "广场路", "北京路",
)

# Family shapes of a household (户), with their weights in urban and in rural communities.
SINGLE_YOUNG = 0      # one working-age adult
SINGLE_OLD = 1        # one elderly person living alone (空巢)
OLD_COUPLE = 2        # elderly couple
COUPLE = 3            # couple without children at home
COUPLE_1 = 4          # couple and one child
COUPLE_2 = 5          # couple and two children
THREE_GEN_UP = 6      # couple, children, and one or both of the head's parents
THREE_GEN_DOWN = 7    # elderly head, a married child and grandchildren
SINGLE_PARENT = 8     # one parent with one or two children
SIBLINGS = 9          # head living with a brother or sister
LEFT_BEHIND = 10      # 留守: grandparent(s) raising grandchildren while the parents work away

FAMILY_WEIGHTS: Final[dict[bool, tuple[float, ...]]] = {
    # urban?: weights in the order of the shapes above
    True: (8, 9, 14, 10, 30, 8, 9, 4, 5, 1.5, 1.5),
    False: (4, 10, 15, 7, 20, 18, 10, 7, 3, 2, 4),
}

DISABILITY_GRADE_WEIGHTS: Final = ((1, 0.15), (2, 0.25), (3, 0.30), (4, 0.30))

# Second digit of a mobile number, weighted (13x, 15x, 18x most common).
MOBILE_SECOND_DIGIT: Final = "3333355555888889794"

DEMO_USERS: Final[tuple[tuple[str, str, str, str], ...]] = (
    # username, role, scope, display name
    ("admin", "city_admin", "320700", "市民政局管理员"),
    ("haizhou", "county_officer", "320706", "海州区民政局"),
    ("ganyu", "county_officer", "320707", "赣榆区民政局"),
    ("xinhai", "town_officer", "320706006", "新海街道民政办"),
    ("dongfeng", "community_worker", "320706006001", "东风社区专干"),
    ("agent", "call_agent", "320700", "呼叫中心坐席"),
    ("auditor", "auditor", "320700", "市民政局审计"),
)
