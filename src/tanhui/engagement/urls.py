from django.urls import path

from tanhui.engagement import views

app_name = "engagement"

urlpatterns = [
    # citizens and the public
    path("", views.home, name="home"),
    path("campaigns/<slug:code>/", views.campaign, name="campaign"),
    path("campaigns/<slug:code>/enrol/", views.enrol, name="enrol"),
    path("pledges/<int:pk>/", views.pledge, name="pledge"),
    path("checkin/<slug:code>/", views.checkin, name="checkin"),
    path("checkin/<slug:code>/done/", views.checkin_done, name="checkin-done"),
    path("quizzes/", views.quizzes, name="quizzes"),
    path("quizzes/<slug:code>/start/", views.quiz_start, name="quiz-start"),
    path("quizzes/<slug:code>/ranking/", views.quiz_ranking, name="quiz-ranking"),
    path("attempts/<int:pk>/", views.attempt, name="attempt"),
    path("leaderboards/", views.leaderboard, name="leaderboard"),
    path("community/", views.community, name="community"),
    path("community/join/", views.join_community, name="join-community"),
    path("team/join/", views.join_team, name="join-team"),
    path("team/leave/", views.leave_team, name="leave-team"),
    path("challenges/<int:pk>/", views.challenge, name="challenge"),
    path("certified/", views.certified, name="certified"),
    path("certifications/apply/", views.certification_apply, name="certification-apply"),
    path("certifications/<int:pk>/", views.certification, name="certification"),
    path("certifications/<int:pk>/certificate.pdf", views.certificate, name="certificate"),
    path("certifications/materials/<int:pk>/", views.material, name="material"),
    # organisers and administrators
    path("manage/", views.manage, name="manage"),
    path("manage/campaigns/<slug:code>/", views.manage_campaign, name="manage-campaign"),
    path("manage/campaigns/<slug:code>/fund/", views.fund, name="fund"),
    path("manage/campaigns/<slug:code>/award/", views.award, name="award"),
    path("manage/campaigns/<slug:code>/status/", views.campaign_status, name="campaign-status"),
    path("manage/campaigns/<slug:code>/units/", views.add_unit, name="add-unit"),
    path("manage/campaigns/<slug:code>/venues/", views.add_venue, name="add-venue"),
    path("manage/campaigns/<slug:code>/tasks/", views.add_task, name="add-task"),
    path("manage/campaigns/<slug:code>/report/", views.campaign_report, name="campaign-report"),
    path("manage/campaigns/<slug:code>/report.xlsx", views.campaign_report_xlsx, name="campaign-report-xlsx"),
    path("manage/units/<int:pk>/", views.unit, name="unit"),
    path("manage/reports/<int:pk>/", views.report_file, name="report-file"),
    path("manage/venues/<slug:code>/display/", views.venue_display, name="venue-display"),
    path("manage/quizzes/", views.manage_quizzes, name="manage-quizzes"),
    path("manage/quizzes/bank.xlsx", views.bank_export, name="bank-export"),
    path("manage/quizzes/<slug:code>/", views.manage_quiz, name="manage-quiz"),
    path("manage/certifications/", views.manage_certifications, name="manage-certifications"),
]
