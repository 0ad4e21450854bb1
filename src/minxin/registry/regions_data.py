"""Lianyungang's divisions: the city, its districts and counties, towns, and demo communities.

County codes are GB/T 2260 (current list), with the 2012 codes kept as historical aliases:
320705 新浦区 and 320721 赣榆县 were abolished by 国函〔2014〕56号. Town codes are the NBS
统计用区划代码 (2023 release) where DOMAIN.md lists them; the remaining towns of 赣榆区, 东海县,
灌云县 and 灌南县 carry real town names with codes assigned in sequence inside the ranges DOMAIN.md
gives, to be replaced from the NBS list before a bureau goes live. Communities (社区/村) are
synthetic, generated for the demo city: a bureau loads its own.
"""

from __future__ import annotations

CITY = ("320700", "连云港市")

COUNTIES: list[tuple[str, str, bool]] = [
    # code, name, urban district?
    ("320703", "连云区", True),
    ("320706", "海州区", True),
    ("320707", "赣榆区", False),
    ("320722", "东海县", False),
    ("320723", "灌云县", False),
    ("320724", "灌南县", False),
]

# Historical codes that still appear in ID numbers and 2012 documents.
HISTORICAL: list[tuple[str, str, str, str]] = [
    ("320705", "新浦区", "320706", "2014年撤销，并入海州区（国函〔2014〕56号）"),
    ("320721", "赣榆县", "320707", "2014年撤县设赣榆区（国函〔2014〕56号）"),
]

TOWNS: dict[str, list[tuple[str, str]]] = {
    "320703": [
        ("001", "墟沟街道"), ("003", "连云街道"), ("004", "云山街道"), ("005", "板桥街道"),
        ("006", "连岛街道"), ("007", "徐圩街道"), ("008", "海州湾街道"), ("009", "宿城街道"),
        ("010", "高公岛街道"), ("203", "前三岛乡"),
    ],
    "320706": [
        ("001", "朐阳街道"), ("006", "新海街道"), ("009", "云台街道"), ("010", "新浦街道"),
        ("011", "海州街道"), ("012", "幸福路街道"), ("013", "洪门街道"), ("014", "宁海街道"),
        ("016", "浦西街道"), ("017", "新东街道"), ("018", "新南街道"), ("019", "路南街道"),
        ("020", "花果山街道"), ("021", "南城街道"), ("022", "郁州街道"), ("100", "锦屏镇"),
        ("102", "新坝镇"), ("103", "板浦镇"), ("104", "浦南镇"),
    ],
    "320707": [
        ("100", "青口镇"), ("101", "柘汪镇"), ("102", "石桥镇"), ("103", "金山镇"), ("104", "黑林镇"),
        ("105", "厉庄镇"), ("106", "海头镇"), ("107", "塔山镇"), ("108", "赣马镇"), ("109", "班庄镇"),
        ("110", "城头镇"), ("111", "城西镇"), ("112", "宋庄镇"), ("113", "沙河镇"), ("116", "墩尚镇"),
    ],
    "320722": [
        ("001", "牛山街道"), ("002", "石榴街道"), ("101", "白塔埠镇"), ("102", "黄川镇"),
        ("103", "石梁河镇"), ("104", "青湖镇"), ("105", "温泉镇"), ("106", "双店镇"), ("107", "桃林镇"),
        ("108", "洪庄镇"), ("109", "安峰镇"), ("110", "房山镇"), ("111", "平明镇"), ("200", "驼峰乡"),
        ("203", "李埝乡"), ("205", "石湖乡"), ("207", "张湾乡"),
    ],
    "320723": [
        ("001", "侍庄街道"), ("100", "伊山镇"), ("101", "杨集镇"), ("102", "燕尾港镇"), ("103", "同兴镇"),
        ("104", "四队镇"), ("105", "圩丰镇"), ("106", "龙苴镇"), ("107", "下车镇"), ("108", "图河镇"),
        ("109", "东王集镇"), ("110", "小伊镇"), ("112", "南岗镇"),
    ],
    "320724": [
        ("100", "新安镇"), ("101", "堆沟港镇"), ("102", "田楼镇"), ("103", "北陈集镇"), ("104", "张店镇"),
        ("105", "三口镇"), ("106", "孟兴庄镇"), ("107", "汤沟镇"), ("108", "百禄镇"), ("109", "新集镇"),
        ("110", "李集镇"),
    ],
}

_COMMUNITY_STEMS = (
    "东风", "新华", "幸福", "和平", "建设", "光明", "朝阳", "民主", "团结", "胜利", "友谊", "振兴",
    "海宁", "花园", "春晖", "丰收", "前进", "红旗", "长青", "新港", "龙河", "云台", "锦华", "秀水",
)


def communities_for(town_code: str, town_name: str, n: int) -> list[tuple[str, str, bool]]:
    """Synthetic communities of one town: 社区 in 街道 (urban), mostly 村 in 镇/乡 (rural)."""
    urban_town = town_name.endswith("街道")
    out: list[tuple[str, str, bool]] = []
    offset = int(town_code[-3:]) % len(_COMMUNITY_STEMS)
    for i in range(n):
        stem = _COMMUNITY_STEMS[(offset + i * 5) % len(_COMMUNITY_STEMS)]
        if urban_town:
            code, name, urban = f"{town_code}{i + 1:03d}", f"{stem}社区", True
        elif i == 0:
            # A town's seat is a 社区 (residents' committee), its code in the 001 range.
            code, name, urban = f"{town_code}001", f"{town_name[:-1]}社区", True
        else:
            # Villages (村委会) take the 2xx range of NBS codes.
            code, name, urban = f"{town_code}{200 + i:03d}", f"{stem}村", False
        out.append((code, name, urban))
    return out
