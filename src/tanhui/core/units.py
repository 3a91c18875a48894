"""Units of value. Reductions are integer milligrams CO2e; points are whole points (1 point = 1 g CO2e)."""

MG_PER_POINT = 1000
MG_PER_TONNE = 1_000_000_000


def points_for_mg(total_mg: int) -> int:
    """Points earned by one posting: floor(sum mg / 1000)."""
    return total_mg // MG_PER_POINT


def tonnes(mg: int) -> float:
    """For display only; never store the result."""
    return mg / MG_PER_TONNE
